"""Build a retrieval CSV from Debian's English package descriptions.

Each row pairs a binary package's one-line summary (the query) with its long description (the
passage), plus the source package it is built from (the group: binary packages of one source share
text, so they must never straddle two splits). The text comes from the apt lists of Debian 12
"bookworm" (main, plus bookworm-updates and bookworm-security when present): `Translation-en`
holds the descriptions, `Packages` names each binary package's source; both are joined by
(Package, Description-md5). Read them after `apt-get update -o Acquire::Languages=en`:

    python data/debian_descriptions.py runs/sources/debian_descriptions.csv
    python data/debian_descriptions.py course_data/smoke/debian_descriptions.csv --max-rows 600

Columns: summary, description, source_package, package. The card is data/debian_descriptions.md.
"""

import argparse
import csv
import random
import re
import subprocess
import sys
from operator import itemgetter
from pathlib import Path

LISTS = re.compile(r"_dists_bookworm(-updates|-security)?_main_")
MIN_CHARS, MAX_CHARS = 40, 2000
BY_PACKAGE = itemgetter(3, 0, 1)  # rows are (summary, description, source_package, package)


def stanzas(path):
    """Yield each stanza of an apt list as {field: value}; continuation lines keep their newline."""
    command = ["/usr/lib/apt/apt-helper", "cat-file", str(path)]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def plain(long_lines):
    """Long description lines -> paragraphs of plain text separated by blank lines."""
    paragraphs = [[]]
    for line in long_lines:
        if line.strip() == ".":
            paragraphs.append([])
        else:
            paragraphs[-1] += line.split()
    return "\n\n".join(" ".join(words) for words in paragraphs if words)


def lists(folder, pattern):
    paths = sorted(Path(folder).glob(pattern))
    return [p for p in paths if p.is_file() and LISTS.search(p.name) and ".diff" not in p.name]


def build(folder, max_chars=MAX_CHARS):
    translations = lists(folder, "*_i18n_Translation-en*")
    if not translations:
        sys.exit(
            f"No Translation-en lists in {folder}: run `apt-get update -o Acquire::Languages=en` "
            "(Debian or Ubuntu) first, or pass --lists."
        )
    sources = {}  # (package, md5) -> source package name
    for path in lists(folder, "*_binary-*_Packages*"):
        for f in stanzas(path):
            source = f.get("Source", f["Package"]).split(" (")[0]
            sources[(f["Package"], f.get("Description-md5", ""))] = source
    texts = {}  # (package, md5) -> (summary, description)
    for path in translations:
        for f in stanzas(path):
            summary, *long_lines = f.get("Description-en", "").split("\n")
            key = (f["Package"], f.get("Description-md5", ""))
            texts[key] = (summary.strip(), plain(long_lines))
    counts = {"translation entries": len(texts)}
    rows = [(*texts[key], sources[key], key[0]) for key in sorted(texts) if key in sources]
    counts["no Packages entry"] = len(texts) - len(rows)
    kept = [r for r in rows if r[0] and r[1]]
    counts["empty summary or description"] = len(rows) - len(kept)
    unique = {}  # first row of each (summary, description), in package-name order
    for r in kept:
        unique.setdefault(r[:2], r)
    rows = list(unique.values())
    counts["duplicate (summary, description)"] = len(kept) - len(rows)
    kept = [r for r in rows if MIN_CHARS <= len(r[1]) <= max_chars]
    counts[f"description under {MIN_CHARS} chars"] = sum(len(r[1]) < MIN_CHARS for r in rows)
    counts[f"description over {max_chars:,} chars"] = sum(len(r[1]) > max_chars for r in rows)
    return sorted(kept, key=BY_PACKAGE), counts


def sample(rows, max_rows, seed):
    """Whole source packages in a seeded random order, skipping any that would overshoot."""
    by_source = {}
    for r in rows:
        by_source.setdefault(r[2], []).append(r)
    order = sorted(by_source)
    random.Random(seed).shuffle(order)
    picked = []
    for source in order:
        if len(picked) + len(by_source[source]) <= max_rows:
            picked += by_source[source]
        if len(picked) == max_rows:
            break
    return sorted(picked, key=BY_PACKAGE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--lists", default="/var/lib/apt/lists", help="apt lists folder")
    parser.add_argument("--max-rows", type=int, help="sample whole source packages up to N rows")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--max-chars", type=int, default=MAX_CHARS, help="longest description kept (smoke: 300)"
    )
    args = parser.parse_args()
    rows, counts = build(args.lists, args.max_chars)
    if args.max_rows is not None:
        rows = sample(rows, args.max_rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("summary", "description", "source_package", "package"), *rows])
    print(f"{len(rows):,} rows written to {args.out}")
    print(f"{len({r[0] for r in rows}):,} distinct summaries, ", end="")
    print(f"{len({r[2] for r in rows}):,} distinct source packages; cleaning counts:")
    print("\n".join(f"  {name}: {n:,}" for name, n in counts.items()))


if __name__ == "__main__":
    main()
