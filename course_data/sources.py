"""A profile's source as ``load_dataset`` arguments: MS MARCO on the hub, or the course's own rows as local shards
in the same schema, so one loader (notebook 02's ``stream_rows``) reads them all."""

import json
from pathlib import Path

from course_data import SMOKE
from course_data.wordnet import wordnet_rows
from helpers.profiles import Profile
from helpers.run_files import atomic_write

MSMARCO = dict(
    path="sentence-transformers/msmarco-co-condenser-margin-mse-sym-mnrl-mean-v1", name="triplet-hard", split="train"
)


def source_dataset(profile: Profile, run_dir: Path) -> dict:
    """The ``load_dataset`` arguments of a profile's source (WordNet is written as local shards first); a learner's
    own data (``profile.data``) as notebook 01 named it."""
    if profile.source in ("msmarco", "own"):
        return MSMARCO if profile.source == "msmarco" else profile.data
    wordnet = profile.source == "wordnet"
    files = write_shards(list(wordnet_rows()), Path(run_dir) / "source") if wordnet else [SMOKE / "creatures.jsonl"]
    return {"path": "json", "data_files": [str(path) for path in files], "split": "train"}


def write_shards(rows: list[dict[str, str]], folder: Path, n_shards: int = 2) -> list[Path]:
    """Rows as JSON-lines shards, as the hub stores a dataset; a shard is rewritten whole, and only when it changed."""
    size = -(-len(rows) // n_shards)  # rows per shard, rounded up
    paths = [folder / f"train-{i:05d}-of-{n_shards:05d}.jsonl" for i in range(n_shards)]
    for shard, path in enumerate(paths):
        text = "".join(json.dumps(row) + "\n" for row in rows[shard * size : (shard + 1) * size])
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)  # a second reader never sees half a shard
    return paths
