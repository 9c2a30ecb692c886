"""A tiny dataset the course generates itself, in MS MARCO's schema (the ``smoke`` profile).

Made-up creatures with made-up facts: nothing to download, deterministic for a seed, and shaped
like triplet-hard (each query repeats with several hard negatives about a sibling creature).
Introduced for the tests; notebook 01 shows where it plugs in.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

SYLLABLES = ("ka", "lo", "mi", "ran", "tu", "vel", "zor", "pi", "qua", "sen", "dri", "mo", "ul", "fen")
KINDS = ("beetle", "fern", "lizard", "moss", "finch", "eel", "orchid", "toad")
PLACES = ("salt marshes", "alpine meadows", "cave pools", "mangrove roots", "desert dunes", "pine forests")
COLOURS = ("crimson", "pale green", "striped grey", "golden", "inky blue", "speckled brown")
FOODS = ("fallen fruit", "tiny shrimp", "lichen", "nectar", "ants", "rotting wood")


def synthetic_rows(
    n_queries: int = 200, negatives_per_query: int = 3, seed: int = 0
) -> Iterator[dict[str, str]]:
    """Yield ``query, positive, negative`` rows about ``n_queries`` invented creatures."""
    rng = random.Random(seed)
    creatures = []
    names: set[str] = set()
    while len(creatures) < n_queries:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3))
        if name in names:
            continue
        names.add(name)
        kind = rng.choice(KINDS)
        fact = (
            f"The {name} is a {rng.choice(COLOURS)} {kind} that lives in {rng.choice(PLACES)} "
            f"and feeds on {rng.choice(FOODS)}."
        )
        creatures.append((name, kind, fact))
    for name, kind, fact in creatures:
        siblings = [c[2] for c in creatures if c[1] == kind and c[0] != name]
        query = rng.choice(("what is a {}", "where does the {} live", "{} habitat and diet")).format(name)
        for negative in rng.sample(siblings, min(negatives_per_query, len(siblings))):
            yield {"query": query, "positive": fact, "negative": negative}


def write_jsonl_shards(rows: list[dict[str, str]], folder: Path, n_shards: int = 2) -> list[Path]:
    """Write rows as JSON-lines shards, the way the hub stores a dataset in several files."""
    from helpers.results import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for shard in range(n_shards):
        path = folder / f"train-{shard:05d}-of-{n_shards:05d}.jsonl"
        text = "".join(json.dumps(r) + "\n" for r in rows[shard::n_shards])
        # unchanged shards are left alone and changed ones replaced whole, so a second process
        # reading them (two notebooks, two benchmark builds) never sees a half-written file
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)
        paths.append(path)
    return paths


TOOLS = ("florp", "quazz", "mibble", "tarnish", "zindle", "krabb")
ACTIONS = (
    ("list every {obj}", "{tool} ls --all {flag}"),
    ("delete a {obj} by name", "{tool} rm --name NAME {flag}"),
    ("show the size of each {obj}", "{tool} du -h {flag}"),
    ("copy a {obj} to another host", "{tool} push HOST:{flag}"),
    ("rename a {obj}", "{tool} mv OLD NEW {flag}"),
)
OBJECTS = ("bucket", "widget", "ledger", "spool", "crate")


def synthetic_sheets(seed: int = 0) -> dict[str, str]:
    """Cheatsheets for invented command-line tools, in the layout of the ``cheat`` package's sheets.

    The smoke profile's out-of-domain source: "# To <task>:" comments over command lines.
    """
    rng = random.Random(seed)
    sheets = {}
    for tool in TOOLS:
        entries = []
        for action, command in ACTIONS:
            obj, flag = rng.choice(OBJECTS), f"--{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}"
            entries.append(f"# To {action.format(obj=obj)}:\n{command.format(tool=tool, flag=flag)}\n")
        sheets[tool] = "\n".join(entries)
    return sheets
