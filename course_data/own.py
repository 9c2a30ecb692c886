"""A learner's own data and model (notebook 01's ``OWN_*`` knobs, or ``MRL_DATA``, ``MRL_COLUMNS``, ``MRL_MODEL``,
``MRL_QUERY_PROMPT``): they replace a profile's source and model, and its sizes become caps that the split sizes
down to the data. ``runs/own.json`` keeps them for notebooks 02-10 (each Colab notebook runs on its own machine,
and only the runs folder is shared).
"""

import hashlib
import json
import os
import re
from dataclasses import replace
from pathlib import Path

from huggingface_hub import try_to_load_from_cache

from helpers.knobs import check_knob, check_knobs
from helpers.profiles import Profile, model_path, runs_root
from helpers.run_files import atomic_write

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


def with_own_data(base: Profile, name=None, data=None, columns=None, model=None, query_prompt=None) -> Profile:
    """``base`` with a learner's own data and model when given here, by ``MRL_DATA``/``MRL_MODEL``, or (no
    profile ``name``) by notebook 01 in ``runs/own.json``; else ``base`` itself."""
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
        atomic_write(runs_root() / OWN_SETTINGS, json.dumps(kept, indent=1))
    data = profile.data and profile.data.get("data_files", [profile.data["path"]])[0]
    print(
        f"Your own {'data ' + repr(data) if data else 'model'}, model {profile.model}: runs/{profile.name} "
        f'(kept in runs/{OWN_SETTINGS} for notebooks 02-10; OWN_DATA = "course" in notebook 01 goes back)'
    )
    return profile


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
