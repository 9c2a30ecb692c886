"""The benchmark's honesty invariants on the smoke and offline data, and its one-sentence errors."""

from __future__ import annotations

import pytest
from datasets import Dataset

from course_data.splits import MIN_QUERIES, DataError, build_benchmark, check_disjoint


def assert_honest(train, bench):
    eval_queries = set(bench.queries.values())
    eval_positives = {bench.corpus[d] for rel in bench.qrels.values() for d in rel}
    assert not eval_queries & set(train["query"])
    assert not eval_positives & (set(train["positive"]) | set(train["negative"]))
    assert len(set(bench.corpus.values())) == len(bench.corpus)
    assert all(rel <= bench.corpus.keys() for rel in bench.qrels.values())


def assert_splits_disjoint(dev, test):
    assert not set(dev.queries.values()) & set(test.queries.values())
    assert not {d for r in dev.qrels.values() for d in r} & {
        d for r in test.qrels.values() for d in r
    }
    assert dev.corpus is test.corpus  # one shared index, as in a real search system


def test_smoke_benchmark_is_honest(smoke_data, smoke_profile):
    train, dev, test = smoke_data
    for bench in (dev, test):
        assert_honest(train, bench)
    assert_splits_disjoint(dev, test)
    assert (len(dev.queries), len(test.queries)) == (
        smoke_profile.n_dev_queries,
        smoke_profile.n_test_queries,
    )
    assert len(test.corpus) == smoke_profile.n_corpus
    assert len(train) == smoke_profile.n_train


def test_offline_benchmark_is_honest_and_split_by_hypernym():
    from course_data.wordnet import wordnet_rows
    from helpers.profiles import get_profile

    profile = get_profile("offline")
    rows = list(wordnet_rows())
    train, dev, test = build_benchmark(
        rows,
        profile.n_dev_queries,
        profile.n_test_queries,
        profile.n_corpus,
        profile.n_train,
        profile.seed,
    )
    for bench in (dev, test):
        assert_honest(train, bench)
    assert_splits_disjoint(dev, test)
    assert (len(dev.queries), len(test.queries), len(test.corpus)) == (300, 1000, profile.n_corpus)
    group_of = {r["query"]: r["group"] for r in rows}
    dev_groups, test_groups = ({group_of[q] for q in b.queries.values()} for b in (dev, test))
    assert not (dev_groups | test_groups) & {group_of[q] for q in train["query"]}
    assert not dev_groups & test_groups  # siblings never straddle dev and test


def test_repeated_positives_get_one_corpus_id():
    rows = [
        {"query": f"q{i // 5}", "positive": f"pos{i // 5}", "negative": f"neg{i}"}
        for i in range(100)
    ]
    train, dev, test = build_benchmark(
        rows, n_dev=2, n_test=2, n_corpus=40, n_train=50, min_queries=1
    )
    for bench in (dev, test):
        assert all(
            len(rel) == 1 for rel in bench.qrels.values()
        )  # five rows per query, one relevant id
        assert_honest(train, bench)
    assert (
        test.stats["eval_passages"] == 4 * 6
    )  # each eval query: 1 positive + 5 distinct negatives


def test_splits_are_seeded_and_disjoint():
    rows = [
        {"query": f"q{i // 3}", "positive": f"p{i // 3}", "negative": f"n{i}"} for i in range(300)
    ]
    first = build_benchmark(
        rows, n_dev=5, n_test=10, n_corpus=60, n_train=1000, seed=3, min_queries=1
    )
    again = build_benchmark(
        rows, n_dev=5, n_test=10, n_corpus=60, n_train=1000, seed=3, min_queries=1
    )
    assert (
        first.test.fingerprint() == again.test.fingerprint()
        and first.dev.queries == again.dev.queries
    )
    assert_splits_disjoint(first.dev, first.test)
    assert len(first.train) == 3 * (100 - 15)  # three rows for each query not held out


def test_overlapping_splits_detected(smoke_data):
    train, dev, test = smoke_data
    with pytest.raises(AssertionError, match="share a query"):
        check_disjoint(train, test, test)


def test_missing_columns_named():
    ds = Dataset.from_list([{"anchor": "a", "positive": "b", "negative": "c"}])
    with pytest.raises(DataError, match=r"needs \['query'\] .*OWN_COLUMNS"):
        build_benchmark(ds, 1, 1, 10, 10)


@pytest.mark.parametrize(
    "bad, said",
    [
        ({"query": " ", "positive": "p"}, "Row 2 of the data has an empty query"),
        ({"query": "q", "positive": None}, "Row 2 of the data has the query 'q' with no positive"),
    ],
)
def test_an_empty_query_or_a_query_without_a_positive_stops_naming_its_row(bad, said):
    rows = Dataset.from_list([{"query": "a", "positive": "b"}, bad])
    with pytest.raises(DataError, match=said):
        build_benchmark(rows, 1, 1, 10, 10)


def test_too_few_queries_names_the_minimum():
    rows = [{"query": f"q{i}", "positive": f"p{i}"} for i in range(MIN_QUERIES - 1)]
    with pytest.raises(
        DataError, match=f"holds {MIN_QUERIES - 1} distinct .* at least {MIN_QUERIES}"
    ):
        build_benchmark(rows, 2, 4, 10, 10)


def test_pairs_are_split_into_sizes_from_their_distinct_queries():
    """(query, positive) pairs: a fifth of the queries to test and a tenth to dev under the caps, distractors
    leave rows to train on, and nothing of dev or test is in training."""
    rows = Dataset.from_list([{"query": f"q{i}", "positive": f"p{i}"} for i in range(MIN_QUERIES)])
    train, dev, test = build_benchmark(rows, 300, 1000, 10_000, 4096)
    assert (len(test.queries), len(dev.queries)) == (MIN_QUERIES // 5, MIN_QUERIES // 10)
    assert len(test.corpus) == MIN_QUERIES // 5 + MIN_QUERIES // 10 + MIN_QUERIES // 5
    assert train.column_names == ["query", "positive"]
    assert len(train) == MIN_QUERIES - len(test.corpus)  # every pair not held out
    assert_splits_disjoint(dev, test)
    check_disjoint(train, dev, test)


def test_overlap_detected(smoke_data):
    train, _, bench = smoke_data
    qid = next(iter(bench.queries))
    leaked = Dataset.from_list(
        [*train.to_list(), {"query": bench.queries[qid], "positive": "x", "negative": "y"}]
    )
    with pytest.raises(ValueError, match="eval split overlaps training"):
        check_disjoint(leaked, smoke_data.dev, bench)


def test_no_training_rows_left():
    rows = [
        {"query": f"q{i}", "positive": f"p{i}", "negative": f"n{i}", "group": f"g{i % 2}"}
        for i in range(6)
    ]
    with pytest.raises(ValueError, match="no training rows are left"):
        build_benchmark(
            rows, 1, 1, 10, 10, min_queries=1
        )  # both groups are held out, one per split


def test_the_split_is_saved_once_and_read_back_the_same(smoke_profile, tmp_path, monkeypatch):
    """load_benchmark saves the split to run_dir/benchmark.json; a second call reads it back (no streaming), equal in
    every row and fingerprint; a damaged file or other sizes build it again."""
    from dataclasses import replace

    import course_data.splits as benchmark
    import helpers.recipe

    first = benchmark.load_benchmark(smoke_profile, tmp_path)
    saved = (tmp_path / "benchmark.json").read_bytes()
    streamed = []
    monkeypatch.setattr(
        helpers.recipe,
        "stream_rows",
        lambda *a: streamed.append(a) or pytest.fail("streamed again"),
    )
    second = benchmark.load_benchmark(smoke_profile, tmp_path)
    assert not streamed and (tmp_path / "benchmark.json").read_bytes() == saved
    assert (
        second.train.to_list() == first.train.to_list()
        and second.train.column_names == first.train.column_names
    )
    for a, b in ((first.dev, second.dev), (first.test, second.test)):
        assert (a.queries, a.corpus, a.qrels, a.stats) == (b.queries, b.corpus, b.qrels, b.stats)
        assert list(a.corpus) == list(b.corpus) and a.fingerprint() == b.fingerprint()
    monkeypatch.undo()
    (tmp_path / "benchmark.json").write_text('{"key": ')  # cut off
    assert (
        benchmark.load_benchmark(smoke_profile, tmp_path).test.fingerprint()
        == first.test.fingerprint()
    )
    assert (tmp_path / "benchmark.json").read_bytes() == saved  # rebuilt whole
    fewer = benchmark.load_benchmark(replace(smoke_profile, n_test_queries=20), tmp_path)
    assert len(fewer.test.queries) == 20 and (tmp_path / "benchmark.json").read_bytes() != saved
