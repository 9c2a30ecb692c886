"""Files under runs/<profile>/, each with one writer and replaced whole (no lock, also on Drive)."""

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import disk_full_error, is_disk_full
from helpers.profiles import run_first

REQUIRED = ("model", "dim", "benchmark")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and a rename: whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600: readable by a web server (the HTML pages) and by others
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(error):
            raise disk_full_error(path.parent, f"writing {path.name}") from None
        raise


def save_metrics(folder: Path, table: pd.DataFrame) -> Path:
    """Write one model's rows (one per dim) to ``folder/metrics_<model>.csv``, replacing only that file."""
    (model,) = table["model"].unique()
    numbers = table.select_dtypes("number").to_numpy(dtype=float)
    if not np.isfinite(numbers).all():
        raise ValueError(f"Some {model} metrics are NaN or infinite; nothing was saved. Check the embeddings for NaN.")
    atomic_write(path := Path(folder) / f"metrics_{model}.csv", table.to_csv(index=False))
    return path


def load_results(folder: Path, models: list[str], fingerprint: str | None, made_by: dict[str, str]) -> pd.DataFrame:
    """The rows of ``models``, each checked to exist and (unless ``fingerprint=None``) to come from that benchmark."""
    tables = []
    for model in models:
        path = Path(folder) / f"metrics_{model}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"No {model!r} results at {path}; {run_first(made_by[model])}")
        try:
            table = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            table = pd.DataFrame()
        missing = [c for c in REQUIRED if c not in table.columns]
        if missing or table[list(REQUIRED)].isna().any().any():
            what = f"no {', '.join(missing)} column" if missing else "a row lacks its model, dim or benchmark"
            raise ValueError(f"{path} is damaged ({what}); re-run notebook {made_by[model]} to write it again.")
        if fingerprint is not None and set(table["benchmark"]) != {fingerprint}:
            raise ValueError(
                f"The {model!r} rows in {path} were measured on a different benchmark; re-run notebook "
                f"{made_by[model]} with the current parameters."
            )
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def save_findings(run_dir: Path, notebook: str, **figures) -> None:
    """Keep the figures a notebook's prose and the course's documents cite: ``findings/<notebook>.json``.

    ``tools/docs.py`` builds the README and docs/ from these files (committed under ``results/``), so a
    document quotes what a run printed, never a number typed by hand. Several calls add up; floats keep every digit.
    """
    path = Path(run_dir) / "findings" / f"{notebook}.json"
    try:  # several cells of one notebook add their figures to the same file
        figures = json.loads(path.read_text()) | figures
    except (OSError, ValueError):
        pass
    atomic_write(path, json.dumps(figures, indent=1, sort_keys=True, default=_plain) + "\n")


def _plain(value):  # numpy scalars and arrays, as JSON numbers and lists
    return value.tolist() if hasattr(value, "tolist") else str(value)


def model_fingerprint(model_dir: Path) -> str:
    """A short hash of a saved model's weights: equal fingerprints mean the same model."""
    import hashlib

    digest = hashlib.sha1()
    for path in sorted(Path(model_dir).rglob("*.safetensors")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def save_embeddings(path: Path, embeddings: np.ndarray) -> None:
    """``np.save`` into memory, then ``atomic_write``: an interrupted save leaves the old file and no half file."""
    np.save(buffer := io.BytesIO(), np.asarray(embeddings, dtype=np.float32))
    atomic_write(path, buffer.getvalue())


def load_embeddings(path: Path, n_rows: int, dim: int, made_by: str, model=None, texts=None) -> np.ndarray:
    """Saved embeddings, checked to be ``n_rows`` x ``dim`` and, given ``model``, to match it on 8 ``texts``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {run_first(made_by)}")
    try:
        embeddings = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise ValueError(
            f"{path} is damaged (not a readable .npy file); re-run notebook {made_by} to write it again."
        ) from None
    if embeddings.shape != (n_rows, dim):
        raise ValueError(
            f"{path} has shape {embeddings.shape}, but this benchmark has {n_rows} passages and the model "
            f"{dim} dimensions; re-run notebook {made_by} to write it again."
        )
    if model is not None and not np.allclose(embeddings[:8], model.encode(list(texts)[:8]), atol=1e-4):
        raise ValueError(f"{path} was made with another model or benchmark; re-run notebook {made_by} to refresh it.")
    return embeddings


def save_differences(folder: Path, table: pd.DataFrame) -> list[Path]:
    """One ``differences_<a>_vs_<b>.csv`` per pair of models in ``table`` (a row per dim), each replaced whole."""
    paths = []
    for (a, b), rows in table.groupby(["model_a", "model_b"], sort=False):
        paths.append(Path(folder) / f"differences_{a}_vs_{b}.csv")
        atomic_write(paths[-1], rows.to_csv(index=False))
    return paths


def require_saved_model(folder: Path, made_by: str) -> str:
    """``folder`` as a string if it holds a whole saved sentence-transformers model, else say which notebook to run."""
    from safetensors import SafetensorError, safe_open

    folder = Path(folder)
    missing = [name for name in ("modules.json", "config_sentence_transformers.json") if not (folder / name).is_file()]
    if not folder.is_dir():
        raise FileNotFoundError(f"No saved model at {folder}; {run_first(made_by)}")
    if missing:
        raise FileNotFoundError(f"{folder} is not a whole saved model (no {missing[0]}); re-run notebook {made_by}.")
    try:  # reading each header is enough to catch a cut-off file
        weights = [safe_open(str(path), "np").keys() for path in folder.glob("*.safetensors")]
    except (SafetensorError, OSError):
        weights = []
    if not weights:
        raise ValueError(f"The weights in {folder} are missing or damaged; re-run notebook {made_by} to save it again.")
    return str(folder)


def require_inputs(*inputs: tuple[Path, str]) -> None:
    """Before any work: each ``(path, notebook that writes it)`` exists (a model folder: whole), else which to run."""
    for path, made_by in inputs:
        if Path(path).parent.name == "models":
            require_saved_model(path, made_by)
        elif not Path(path).exists():
            raise FileNotFoundError(f"{path} is missing; {run_first(made_by)}")


def layer_count(model_dir: Path) -> int:
    """The transformer layers of a saved model, from its ``config.json``."""
    return json.loads((Path(model_dir) / "config.json").read_text())["num_hidden_layers"]
