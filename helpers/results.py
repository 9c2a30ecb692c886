"""The results store: ``runs/<profile>/metrics.csv`` plus the parameters each row was made with.

Writes are atomic (temp file, then rename) and locked (two notebooks saving at once both keep
their rows), and rows are upserted by (model, dim): re-running a notebook replaces its own rows
and never touches another model's. A damaged file is named, with the notebook that rewrites it. Each model's parameters and
benchmark fingerprint are kept in ``params.json`` beside the CSV, so results made on different
benchmarks are never mixed silently. The out-of-domain benchmark keeps the same files with the
prefix ``ood_`` (``ood_metrics.csv``, ``ood_params.json``, ``ood_differences.csv``). Introduced in
notebook 01.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import numbers
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from helpers.profiles import run_first

METRICS_FILE = "metrics.csv"
DIFFERENCES_FILE = "differences.csv"
DIFFERENCE_KEY = ["model_a", "model_b", "dim", "metric"]
PARAMS_FILE = "params.json"
OOD = "ood_"  # prefix of the out-of-domain benchmark's files: ood_metrics.csv, ood_params.json, ...
KEY = ["model", "dim"]
REWRITTEN_BY = "01_baseline_truncation_benchmark (then 03 and 05, which add their own rows)"


@functools.cache
def _umask() -> int:
    """The process's umask, read once (reading it means setting it, briefly, so not on every write)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; it replaces ``path`` only once complete.

    An interrupted write (an exception, a kill mid-``with``) leaves the old file and no temp file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    with atomic_file(path) as handle:
        handle.write(text)


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``run_dir`` for a read-modify-write of its results files."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(run_dir) / ".results.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def damaged(path: Path, what: str, rerun: str = f"notebook {REWRITTEN_BY}") -> ValueError:
    """The one sentence for a results file that cannot be read: what is wrong, what to re-run."""
    return ValueError(f"{path} is damaged ({what}); delete it and re-run {rerun}.")


def _merged(old: pd.DataFrame, new: pd.DataFrame, key: list[str], ascending: list[bool]) -> pd.DataFrame:
    """``old`` with the rows whose ``key`` is in ``new`` replaced by ``new``'s, sorted by ``key``."""
    replaced = set(map(tuple, new[key].astype(str).to_numpy()))
    kept = old[[tuple(k) not in replaced for k in old[key].astype(str).to_numpy()]]
    merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new.copy()
    return merged.sort_values(key, ascending=ascending, ignore_index=True)


def results_file(run_dir: Path, name: str, prefix: str = "") -> Path:
    """``run_dir/<prefix><name>``: ``metrics.csv`` or, with ``prefix=OOD``, ``ood_metrics.csv``."""
    return Path(run_dir) / f"{prefix}{name}"


def read_params(run_dir: Path, prefix: str = "") -> dict[str, dict[str, object]]:
    """Per model: the parameters and benchmark fingerprint its rows were made with."""
    path = results_file(run_dir, PARAMS_FILE, prefix)
    if not path.is_file():
        return {}
    try:
        params = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise damaged(path, "not valid JSON") from None
    if not isinstance(params, dict):
        raise damaged(path, "not a JSON object")
    return params


def read_metrics(run_dir: Path, prefix: str = "") -> pd.DataFrame:
    """All rows of ``metrics.csv`` (an empty table if none were written yet), checked for damage."""
    path = results_file(run_dir, METRICS_FILE, prefix)
    if not path.is_file():
        return pd.DataFrame(columns=KEY)
    try:
        table = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        raise damaged(path, "empty or not a CSV table") from None
    if not set(KEY) <= set(table.columns):
        raise damaged(path, f"no {' and '.join(KEY)} columns")
    if table.isna().any().any():
        raise damaged(path, "a row is incomplete, as when a write was cut off")
    return table


def check_table(table: pd.DataFrame) -> pd.DataFrame:
    """Refuse rows that would corrupt ``metrics.csv`` (non-integer or duplicate dims, missing metrics).

    Returns the table with ``dim`` as ints.
    """
    for dim in table["dim"]:
        whole = isinstance(dim, numbers.Real) and not isinstance(dim, bool) and float(dim).is_integer()
        if not whole or dim <= 0:
            raise ValueError(f"dim={dim!r} is not a positive whole number; evaluate sizes such as 64 or 128.")
    duplicated = table[table.duplicated(KEY)]
    if len(duplicated):
        raise ValueError(f"dim {int(duplicated['dim'].iloc[0])} appears twice; list each size once.")
    metrics = table.drop(columns=KEY).select_dtypes("number")
    if not np.isfinite(metrics.to_numpy(dtype=float)).all():
        raise ValueError("Some metrics are NaN or infinite; nothing was saved. Check the embeddings for NaN.")
    return table.assign(dim=table["dim"].astype(int))


def save_metrics(
    run_dir: Path, table: pd.DataFrame, params: Mapping[str, object], prefix: str = ""
) -> pd.DataFrame:
    """Upsert ``table``'s rows by (model, dim) and record ``params`` for its model(s).

    ``prefix=OOD`` writes ``ood_metrics.csv`` (and ``ood_params.json``) instead.

    When a model's parameters differ from those its existing rows were made with, all of that
    model's old rows are dropped (and it says so) rather than mixed with the new ones. Returns
    the whole updated table. Introduced in notebook 01.
    """
    run_dir = Path(run_dir)
    table = check_table(table)
    with locked(run_dir):
        return _upsert(run_dir, table, params, prefix)


def _upsert(run_dir: Path, table: pd.DataFrame, params: Mapping[str, object], prefix: str) -> pd.DataFrame:
    old, recorded = read_metrics(run_dir, prefix), read_params(run_dir, prefix)
    fresh = json.loads(json.dumps(dict(params), default=str))
    for model in table["model"].unique():
        if model in recorded and recorded[model] != fresh:
            print(f"Parameters for {model!r} changed: replacing all of its earlier rows.")
            old = old[old["model"] != model]
        recorded[model] = fresh
    merged = _merged(old, table, KEY, ascending=[True, False])
    atomic_write_text(results_file(run_dir, METRICS_FILE, prefix), merged.to_csv(index=False))
    atomic_write_text(
        results_file(run_dir, PARAMS_FILE, prefix), json.dumps(recorded, indent=2, sort_keys=True)
    )
    return merged


def load_results(
    run_dir: Path, models: list[str], benchmark: str | None, made_by: Mapping[str, str], prefix: str = ""
) -> pd.DataFrame:
    """The rows of ``models``, checked to exist and to come from the benchmark ``benchmark``.

    ``made_by`` maps each model to the notebook that produces its rows, named in the error
    when they are missing or stale. ``benchmark=None`` only checks that the rows exist (notebook
    05 does that before it trains). Introduced in notebook 03.
    """
    table, recorded = read_metrics(run_dir, prefix), read_params(run_dir, prefix)
    for model in models:
        if model not in set(table["model"]):
            raise FileNotFoundError(
                f"No {model!r} rows in {results_file(run_dir, METRICS_FILE, prefix)}; {run_first(made_by[model])}"
            )
        if benchmark is not None and recorded.get(model, {}).get("benchmark") != benchmark:
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


def save_differences(run_dir: Path, rows: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    """Upsert paired differences into ``differences.csv`` (``ood_differences.csv`` with ``prefix=OOD``).

    Columns ``model_a, model_b, dim, metric, diff, ci_low, ci_high``; ``diff`` is model_a minus
    model_b, with its 95% paired-bootstrap interval. Locked and atomic like ``metrics.csv``.
    Introduced in notebook 03.
    """
    run_dir = Path(run_dir)
    columns = [*DIFFERENCE_KEY, "diff", "ci_low", "ci_high"]
    rows = rows[columns]
    with locked(run_dir):
        path = results_file(run_dir, DIFFERENCES_FILE, prefix)
        try:
            old = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=columns)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            rerun = "notebooks 03_re_evaluation and 05_standard_vs_matryoshka"
            raise damaged(path, "empty or not a CSV table", rerun) from None
        merged = _merged(old, rows, DIFFERENCE_KEY, ascending=[True, True, False, True])
        atomic_write_text(path, merged.to_csv(index=False))
    return merged
