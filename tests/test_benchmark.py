"""The benchmark's honesty invariants on the smoke and offline data, and its one-sentence errors."""

from __future__ import annotations

import pytest
from datasets import Dataset

from helpers.data.benchmark import build_benchmark, check_disjoint


def assert_honest(train, bench):
    eval_queries = set(bench.queries.values())
    eval_positives = {bench.corpus[d] for rel in bench.qrels.values() for d in rel}
    assert not eval_queries & set(train["query"])
    assert not eval_positives & (set(train["positive"]) | set(train["negative"]))
    assert len(set(bench.corpus.values())) == len(bench.corpus)
    assert all(rel <= bench.corpus.keys() for rel in bench.qrels.values())


def test_smoke_benchmark_is_honest(smoke_data, smoke_profile):
    train, bench = smoke_data
    assert_honest(train, bench)
    assert len(bench.queries) == smoke_profile.n_eval_queries
    assert len(bench.corpus) == smoke_profile.n_corpus
    assert len(train) == smoke_profile.n_train


def test_offline_benchmark_is_honest_and_split_by_hypernym():
    from helpers.data.wordnet import wordnet_rows
    from helpers.profiles import get_profile

    profile = get_profile("offline")
    rows = list(wordnet_rows())
    train, bench = build_benchmark(
        rows, profile.n_eval_queries, profile.n_corpus, profile.n_train, profile.seed
    )
    assert_honest(train, bench)
    assert (len(bench.queries), len(bench.corpus)) == (profile.n_eval_queries, profile.n_corpus)
    group_of = {r["query"]: r["group"] for r in rows}
    eval_groups = {group_of[q] for q in bench.queries.values()}
    assert not eval_groups & {group_of[q] for q in train["query"]}


def test_repeated_positives_get_one_corpus_id():
    rows = [{"query": f"q{i // 5}", "positive": f"pos{i // 5}", "negative": f"neg{i}"} for i in range(100)]
    train, bench = build_benchmark(rows, n_eval_queries=4, n_corpus=40, n_train=50)
    assert all(len(rel) == 1 for rel in bench.qrels.values())  # five rows per query, one relevant id
    assert_honest(train, bench)
    assert bench.stats["eval_passages"] == 4 * 6  # each eval query: 1 positive + 5 distinct negatives


def test_missing_columns_named():
    ds = Dataset.from_list([{"anchor": "a", "positive": "b", "negative": "c"}])
    with pytest.raises(ValueError, match=r"needs \['query', 'positive', 'negative'\].*\['query'\]"):
        build_benchmark(ds, 1, 10, 10)


def test_empty_after_dedup():
    rows = [
        {"query": " ", "positive": "p", "negative": "n"},
        {"query": "q", "positive": "same", "negative": "same"},
    ]
    with pytest.raises(ValueError, match="empty after de-duplication"):
        build_benchmark(rows, 1, 10, 10)


def test_too_few_queries():
    rows = [{"query": f"q{i}", "positive": f"p{i}", "negative": f"n{i}"} for i in range(5)]
    with pytest.raises(ValueError, match="only 5 distinct queries but n_eval_queries=10"):
        build_benchmark(rows, 10, 10, 10)


def test_overlap_detected(smoke_data):
    train, bench = smoke_data
    qid = next(iter(bench.queries))
    leaked = Dataset.from_list(
        [*train.to_list(), {"query": bench.queries[qid], "positive": "x", "negative": "y"}]
    )
    with pytest.raises(ValueError, match="eval split overlaps training"):
        check_disjoint(leaked, bench)


def test_no_training_rows_left():
    rows = [{"query": f"q{i}", "positive": f"p{i}", "negative": f"n{i}", "group": "one"} for i in range(5)]
    with pytest.raises(ValueError, match="no training rows are left"):
        build_benchmark(rows, 2, 10, 10)  # the only group is held out for evaluation
