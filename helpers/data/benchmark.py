"""Turn ``query, positive, negative`` rows into an honest benchmark and a disjoint training set.

The tutorial this course improves on evaluated on its own training rows and put the same positive
into the corpus under many ids. Here every split asserts the opposite: eval queries are never
trained on, no eval positive appears in training, and the corpus holds each text exactly once.
Introduced in notebook 01.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from datasets import Dataset

REQUIRED_COLUMNS = ("query", "positive", "negative")


@dataclass
class Benchmark:
    """Queries, a corpus with one id per distinct passage text, and qrels (query id -> relevant ids)."""

    queries: dict[str, str]
    corpus: dict[str, str]
    qrels: dict[str, set[str]]
    stats: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_benchmark(self)

    def fingerprint(self) -> str:
        """A short hash of queries, corpus and qrels: equal fingerprints mean the same benchmark."""
        payload = json.dumps(
            [self.queries, self.corpus, {q: sorted(r) for q, r in self.qrels.items()}], sort_keys=True
        )
        return hashlib.sha1(payload.encode()).hexdigest()[:12]


def check_columns(columns: Iterable[str], where: str = "the dataset") -> None:
    """Raise a one-sentence error when ``query``, ``positive`` or ``negative`` is missing."""
    missing = [c for c in REQUIRED_COLUMNS if c not in set(columns)]
    if missing:
        raise ValueError(
            f"{where} has columns {sorted(columns)} but needs {list(REQUIRED_COLUMNS)}; "
            f"rename or map the missing {missing} before building the benchmark."
        )


def check_benchmark(bench: Benchmark) -> None:
    """Assert a benchmark's own invariants: unique passage texts, every relevant id in the corpus."""
    if len(set(bench.corpus.values())) != len(bench.corpus):
        raise AssertionError("the corpus holds the same passage text under two ids")
    for qid, relevant in bench.qrels.items():
        if qid not in bench.queries or not relevant or not relevant <= bench.corpus.keys():
            raise AssertionError(f"query {qid} has relevant ids missing from the corpus or queries")


def check_disjoint(train: Dataset, bench: Benchmark) -> None:
    """Assert that no eval query and no eval positive passage occurs anywhere in the training rows."""
    eval_queries = set(bench.queries.values())
    eval_positives = {bench.corpus[d] for rel in bench.qrels.values() for d in rel}
    if eval_queries & set(train["query"]):
        raise ValueError("the eval split overlaps training: some eval queries are also training queries.")
    train_passages = set(train["positive"]) | set(train["negative"])
    if eval_positives & train_passages:
        raise ValueError("the eval split overlaps training: some eval positives are also training passages.")


def _clean_rows(rows: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Strip whitespace, drop rows with an empty field or positive == negative, drop exact duplicates."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for row in rows:
        q, p, n = (str(row[c]).strip() for c in REQUIRED_COLUMNS)
        if not (q and p and n) or p == n or (q, p, n) in seen:
            continue
        seen.add((q, p, n))
        out.append({"query": q, "positive": p, "negative": n, "group": str(row.get("group") or q)})
    return out


class Splits(NamedTuple):
    """Training triplets and the two evaluation splits, which share one corpus."""

    train: Dataset
    dev: Benchmark
    test: Benchmark


def check_splits_disjoint(dev: Benchmark, test: Benchmark) -> None:
    """Assert that dev and test share no query text and no relevant passage."""
    if set(dev.queries.values()) & set(test.queries.values()) or set(dev.queries) & set(test.queries):
        raise AssertionError("the dev and test splits share a query")
    dev_relevant = {d for rel in dev.qrels.values() for d in rel}
    if dev_relevant & {d for rel in test.qrels.values() for d in rel}:
        raise AssertionError("the dev and test splits share a relevant passage")


def build_benchmark(
    rows: Dataset | Iterable[Mapping[str, str]],
    n_dev_queries: int,
    n_test_queries: int,
    n_corpus: int,
    n_train: int,
    seed: int = 42,
) -> Splits:
    """Split rows into training triplets, a dev split and a test split, none overlapping another.

    Rows are grouped by their ``group`` column when present (WordNet: the hypernym, so siblings
    stay together) and by query otherwise (MS MARCO). Whole groups go, in a seeded order, first to
    the test split (until ``n_test_queries`` queries), then to the dev split (``n_dev_queries``),
    then to distractors (until the corpus holds ``n_corpus`` passages), and the rest to training
    (shuffled, at most ``n_train`` rows). Dev and test search one shared corpus, as queries of a
    real index do; their queries, relevant passages and groups are disjoint. Training rows that
    mention an evaluation query or positive are dropped. Every choice is made on dev, every
    reported number comes from test. Introduced in notebook 01.
    """
    if isinstance(rows, Dataset):
        check_columns(rows.column_names)
    cleaned = _clean_rows(rows)
    if not cleaned:
        raise ValueError("the dataset is empty after de-duplication; check that it has non-empty text rows.")
    groups: dict[str, list[dict[str, str]]] = {}
    for row in cleaned:
        groups.setdefault(row["group"], []).append(row)
    order = sorted(groups)
    random.Random(seed).shuffle(order)

    corpus_ids: dict[str, str] = {}  # passage text -> doc id

    def doc_id(text: str) -> str:
        return corpus_ids.setdefault(text, f"d{len(corpus_ids):07d}")

    query_ids: dict[str, str] = {}  # query text -> query id, over both splits
    split_queries: dict[str, dict[str, str]] = {"test": {}, "dev": {}}
    split_qrels: dict[str, dict[str, set[str]]] = {"test": {}, "dev": {}}
    cursor = 0
    for split, wanted in (("test", n_test_queries), ("dev", n_dev_queries)):
        queries, qrels = split_queries[split], split_qrels[split]
        while cursor < len(order) and len(queries) < wanted:
            for row in groups[order[cursor]]:
                if row["query"] not in query_ids and len(queries) >= wanted:
                    continue  # beyond the cap: the group's remaining queries are not evaluated
                qid = query_ids.setdefault(row["query"], f"q{len(query_ids):06d}")
                queries[qid] = row["query"]
                qrels.setdefault(qid, set()).add(doc_id(row["positive"]))
            cursor += 1
        if len(queries) < wanted:
            raise ValueError(
                f"the data holds only {len(query_ids)} distinct queries for the dev and test splits "
                f"(n_test_queries={n_test_queries}, n_dev_queries={n_dev_queries}); "
                "lower them or read more rows."
            )
    eval_groups = set(order[:cursor])
    for row in cleaned:  # hard negatives of the eval queries (rows beyond the cap are not queries)
        if row["group"] in eval_groups and row["query"] in query_ids:
            doc_id(row["negative"])
    n_eval_passages = len(corpus_ids)
    while cursor < len(order) and len(corpus_ids) < n_corpus:
        for row in groups[order[cursor]]:
            for text in (row["positive"], row["negative"]):
                if len(corpus_ids) < n_corpus:
                    doc_id(text)
        cursor += 1

    relevant_ids = {d for qrels in split_qrels.values() for rel in qrels.values() for d in rel}
    eval_positives = {text for text, d in corpus_ids.items() if d in relevant_ids}
    train_rows = [
        {"query": r["query"], "positive": r["positive"], "negative": r["negative"]}
        for g in order[cursor:]
        for r in groups[g]
        if r["query"] not in query_ids and not ({r["positive"], r["negative"]} & eval_positives)
    ]
    if not train_rows:
        raise ValueError("no training rows are left after holding out the eval splits; read more rows.")
    random.Random(seed + 1).shuffle(train_rows)
    train = Dataset.from_list(train_rows[:n_train])
    corpus = {d: text for text, d in corpus_ids.items()}
    stats = {
        "rows_read": len(cleaned),
        "test_queries": len(split_queries["test"]),
        "dev_queries": len(split_queries["dev"]),
        "eval_passages": n_eval_passages,
        "corpus": len(corpus),
        "train_rows": len(train),
        "train_queries": len(set(train["query"])),
    }
    dev, test = (
        Benchmark(queries=split_queries[s], corpus=corpus, qrels=split_qrels[s], stats={**stats, "split": s})
        for s in ("dev", "test")
    )
    check_splits_disjoint(dev, test)
    check_disjoint(train, dev)
    check_disjoint(train, test)
    return Splits(train, dev, test)
