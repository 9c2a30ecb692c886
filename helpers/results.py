"""The results store: ``runs/<profile>/metrics.csv`` plus the parameters each row was made with.

Writes are atomic (temp file, then rename) and rows are upserted by (model, dim): re-running a
notebook replaces its own rows and never touches another model's. Each model's parameters and
benchmark fingerprint are kept in ``params.json`` beside the CSV, so results made on different
benchmarks are never mixed silently. Introduced in notebook 01.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from helpers.profiles import run_first

METRICS_FILE = "metrics.csv"
PARAMS_FILE = "params.json"
KEY = ["model", "dim"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_params(run_dir: Path) -> dict[str, dict[str, object]]:
    """Per model: the parameters and benchmark fingerprint its rows were made with."""
    path = Path(run_dir) / PARAMS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """All rows of ``metrics.csv`` (an empty table if none were written yet)."""
    path = Path(run_dir) / METRICS_FILE
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=KEY)


def save_metrics(run_dir: Path, table: pd.DataFrame, params: Mapping[str, object]) -> pd.DataFrame:
    """Upsert ``table``'s rows by (model, dim) and record ``params`` for its model(s).

    When a model's parameters differ from those its existing rows were made with, all of that
    model's old rows are dropped (and it says so) rather than mixed with the new ones. Returns
    the whole updated table. Introduced in notebook 01.
    """
    run_dir = Path(run_dir)
    old, recorded = read_metrics(run_dir), read_params(run_dir)
    fresh = json.loads(json.dumps(dict(params), default=str))
    for model in table["model"].unique():
        if model in recorded and recorded[model] != fresh:
            print(f"Parameters for {model!r} changed: replacing all of its earlier rows.")
            old = old[old["model"] != model]
        recorded[model] = fresh
    keys = set(zip(table["model"], table["dim"], strict=True))
    kept = old[[(m, d) not in keys for m, d in zip(old["model"], old["dim"], strict=True)]]
    merged = pd.concat([kept, table], ignore_index=True) if len(kept) else table.copy()
    merged = merged.sort_values(KEY, ascending=[True, False], ignore_index=True)
    atomic_write_text(run_dir / METRICS_FILE, merged.to_csv(index=False))
    atomic_write_text(run_dir / PARAMS_FILE, json.dumps(recorded, indent=2, sort_keys=True))
    return merged


def load_results(
    run_dir: Path, models: list[str], benchmark: str, made_by: Mapping[str, str]
) -> pd.DataFrame:
    """The rows of ``models``, checked to exist and to come from the benchmark ``benchmark``.

    ``made_by`` maps each model to the notebook that produces its rows, named in the error
    when they are missing or stale. Introduced in notebook 03.
    """
    table, recorded = read_metrics(run_dir), read_params(run_dir)
    for model in models:
        if model not in set(table["model"]):
            raise FileNotFoundError(
                f"No {model!r} rows in {Path(run_dir) / METRICS_FILE}; {run_first(made_by[model])}"
            )
        if recorded.get(model, {}).get("benchmark") != benchmark:
            raise ValueError(
                f"The {model!r} rows were measured on a different benchmark; "
                f"re-run notebook {made_by[model]} with the current parameters."
            )
    return table[table["model"].isin(models)].reset_index(drop=True)


def with_retention(table: pd.DataFrame, metric: str = "mrr@10") -> pd.DataFrame:
    """Add ``retention_%``: each row's ``metric`` as a percentage of the same model's full-dim value."""
    out = table.reset_index(drop=True)
    full = out.loc[out.groupby("model")["dim"].idxmax(), ["model", metric]].set_index("model")[metric]
    out["retention_%"] = 100 * out[metric] / out["model"].map(full)
    return out


def before_after(table: pd.DataFrame, before: str, after: str, metric: str = "mrr@10") -> pd.DataFrame:
    """Per dim: ``metric`` for both models, absolute and relative change, and both retentions.

    Introduced in notebook 03.
    """
    scored = with_retention(table, metric)
    wide = scored.pivot(index="dim", columns="model", values=[metric, "retention_%"])
    out = pd.DataFrame(
        {
            before: wide[(metric, before)],
            after: wide[(metric, after)],
            "change": wide[(metric, after)] - wide[(metric, before)],
            "change_%": 100 * (wide[(metric, after)] / wide[(metric, before)] - 1),
            f"retention_%_{before}": wide[("retention_%", before)],
            f"retention_%_{after}": wide[("retention_%", after)],
        }
    )
    return out.sort_index(ascending=False)
