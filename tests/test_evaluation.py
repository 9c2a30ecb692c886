"""Evaluation: hand-worked rankings and metrics, trec_eval's measures, parity with sentence-transformers."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

from course_data.splits import Benchmark
from helpers.evaluation import (
    describe_difference,
    evaluate_embeddings,
    normalized_prefix,
    per_query_from_trec,
    rank,
    score_rankings,
)
from helpers.intervals import paired_differences
from helpers.run_files import save_differences


def test_metrics_hand_worked():
    ranked = {"q1": ["a", "b", "c"], "q2": ["x", "y", "z"], "q3": ["p", "q", "r"], "q4": []}
    relevant = {"q1": {"b"}, "q2": {"x", "z"}, "q3": {"nope"}, "q4": {"a"}}
    m = score_rankings(ranked, relevant)
    assert list(m.index) == ["q1", "q2", "q3", "q4"]  # qrels order; an empty ranking scores 0
    # query 1: first hit at rank 2; query 2: hits at ranks 1 and 3; queries 3 and 4: none
    assert m["mrr@10"].tolist() == pytest.approx([1 / 2, 1, 0, 0])
    assert m["recall@10"].tolist() == pytest.approx([1, 1, 0, 0])
    assert m["accuracy@1"].tolist() == [0, 1, 0, 0] and m["accuracy@10"].tolist() == [1, 1, 0, 0]
    ndcg2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["ndcg@10"].tolist() == pytest.approx([1 / math.log2(3), ndcg2, 0, 0])


def test_ties_are_scored_in_our_order_not_trec_evals():
    # trec_eval breaks score ties by doc id descending; scores by rank keep ours (ascending)
    assert score_rankings({"q": ["d1", "d2"]}, {"q": {"d2"}})["mrr@10"].tolist() == [0.5]
    # only the top 10 count: a hit at rank 11 is a miss for MRR@10 and Recall@10
    late = score_rankings({"q": [f"x{i}" for i in range(10)] + ["hit"]}, {"q": {"hit"}})
    assert late["mrr@10"].tolist() == [0.0] and late["recall@10"].tolist() == [0.0]


def test_truncate_renormalises_prefix():
    v = np.array([[3.0, 4.0, 12.0]]) / 13.0
    t = normalized_prefix(v, 2)
    np.testing.assert_allclose(t, [[0.6, 0.8]])
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0)


def test_truncate_rejects_bad_dims():
    v = np.ones((2, 8), dtype=np.float32)
    with pytest.raises(
        ValueError,
        match=r"truncate_dim=16 must be a whole number from 1 to the model's 8 dimensions",
    ):
        normalized_prefix(v, 16)
    with pytest.raises(ValueError, match="truncate_dim=0 must be a whole number from 1"):
        normalized_prefix(v, 0)


def test_rank_order_and_ties_break_by_index():
    corpus = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    idx, scores = rank(np.array([[1.0, 0.0]]), corpus, k=3)
    assert idx.tolist() == [[0, 2, 3]]  # docs 0 and 2 tie at 1.0: lower index first
    np.testing.assert_allclose(scores, [[1.0, 1.0, 0.6]])


TOY = Benchmark(
    queries={"q1": "first", "q2": "second"},
    corpus={"d1": "a", "d2": "b", "d3": "c"},
    qrels={"q1": {"d2"}, "q2": {"d3"}},
)


def toy_table(out_dir, name="toy", queries=None):
    """Two queries, three passages, 3-d vectors: metrics at 3 and 1 dims, with TREC files in ``out_dir``."""
    corpus = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]])
    queries = np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8]]) if queries is None else queries
    return evaluate_embeddings(queries, corpus, TOY, [3, 1], name, out_dir).set_index("dim")


def test_hand_worked_benchmark_end_to_end(tmp_path):
    table = toy_table(tmp_path)
    # 3 dims: q1 ranks d2 (0.96) > d1 (0.6): hit at 1; q2 ranks d3 (0.8) first: hit at 1.
    assert table.loc[3, "mrr@10"] == pytest.approx(1.0)
    # 1 dim: every corpus prefix renormalises to +1 except d3 (0): d1, d2 tie, d1 first by index
    assert table.loc[1, "mrr@10"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert set(table["benchmark"]) == {TOY.fingerprint()}
    lines = (tmp_path / "run_toy_dim3.txt").read_text().splitlines()
    assert lines[0].split() == ["q1", "Q0", "d2", "1", "0.960000", "toy"]
    assert (tmp_path / "qrels.txt").read_text().splitlines() == ["q1 0 d2 1", "q2 0 d3 1"]


def test_matches_information_retrieval_evaluator(smoke_data, minilm):
    """Encode-once metrics equal InformationRetrievalEvaluator(truncate_dim=d) at every dim."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from helpers.evaluation import encode

    _, _, bench = smoke_data
    dims = [384, 128, 64, 32]
    corpus = encode(minilm, list(bench.corpus.values()))
    ours = evaluate_embeddings(
        encode(minilm, list(bench.queries.values())), corpus, bench, dims, "baseline"
    )
    for dim, row in ours.set_index("dim").iterrows():
        evaluator = InformationRetrievalEvaluator(
            bench.queries,
            bench.corpus,
            bench.qrels,
            truncate_dim=dim,
            name="ref",
            show_progress_bar=False,
        )
        refs = [
            evaluator(minilm),
            evaluator(minilm, corpus_embeddings=torch.from_numpy(corpus[:, :dim])),
        ]
        for ref in refs:  # re-encoding, and the corpus encoded once passed in
            for metric in ("mrr@10", "recall@10", "ndcg@10", "accuracy@1", "accuracy@10"):
                assert row[metric] == pytest.approx(ref[f"ref_cosine_{metric}"], abs=1e-6), (
                    dim,
                    metric,
                )


def test_per_query_scores_read_back_from_the_trec_files(tmp_path):
    table = toy_table(tmp_path)
    one = per_query_from_trec(tmp_path, "toy", 1)
    assert one.to_dict() == pytest.approx({"q1": 1 / 2, "q2": 1 / 3})  # the hand-worked ranks above
    assert one.mean() == pytest.approx(table.loc[1, "mrr@10"])
    assert per_query_from_trec(tmp_path, "toy", 3, "recall@10").tolist() == [1.0, 1.0]
    with pytest.raises(FileNotFoundError, match="run notebook 03_x first"):
        per_query_from_trec(tmp_path, "other", 3, made_by="03_x")


def test_paired_bootstrap_interval_and_the_saved_files(tmp_path):
    toy_table(tmp_path, "a")
    toy_table(
        tmp_path, "b", queries=np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]])
    )  # q1 now misses at 3 dims
    table = paired_differences(tmp_path, [("a", 3, "b", 3), ("a", 1, "a", 1), ("a", 1, "b", 3)])
    assert table[["model_a", "model_b", "dim"]].values.tolist() == [
        ["a", "b", 3],
        ["a", "a", 1],
        ["a", "b@3", 1],
    ]
    assert table["diff"].tolist() == pytest.approx([0.25, 0.0, (1 / 2 + 1 / 3) / 2 - 0.75])
    assert table.iloc[1][["ci_low", "ci_high"]].tolist() == [
        0.0,
        0.0,
    ]  # identical scores: no spread
    paths = save_differences(tmp_path, table)
    assert [p.name for p in paths] == [
        "differences_a_vs_b.csv",
        "differences_a_vs_a.csv",
        "differences_a_vs_b@3.csv",
    ]
    assert pd.read_csv(paths[0]).columns.tolist() == [
        "model_a",
        "model_b",
        "dim",
        "metric",
        "diff",
        "ci_low",
        "ci_high",
    ]


def test_bootstrap_interval_on_known_differences(tmp_path, monkeypatch):
    import helpers.intervals as intervals

    rng = np.random.default_rng(3)
    base = rng.uniform(size=400)
    scores = {
        "base": base,
        "better": base + 0.05 + rng.normal(scale=0.01, size=400),
        "noise": base + rng.normal(scale=0.2, size=400),
    }
    monkeypatch.setattr(
        intervals, "per_query_from_trec", lambda d, m, dim, metric, made_by: pd.Series(scores[m])
    )
    table = paired_differences(
        tmp_path, [("better", 1, "base", 1), ("noise", 1, "base", 1)]
    ).set_index("model_a")
    assert table.loc["better", "diff"] == pytest.approx(0.05, abs=0.002)
    assert 0.0 < table.loc["better", "ci_low"] < 0.05 < table.loc["better", "ci_high"] < 0.1
    assert table.loc["noise", "ci_low"] < 0 < table.loc["noise", "ci_high"]
    again = paired_differences(tmp_path, [("better", 1, "base", 1)])
    assert again.iloc[0]["ci_low"] == table.loc["better", "ci_low"]  # fixed seed: the same interval


def test_describe_difference_follows_the_interval():
    assert describe_difference(0.043, 0.02, 0.06) == "higher (+0.043, 95% CI +0.020 to +0.060)"
    assert describe_difference(-0.01, -0.03, 0.01).startswith("no measurable difference (-0.010")
    assert describe_difference(-0.05, -0.08, -0.02).startswith("lower")
    # a bound just above 0 never prints as +0.000 beside "higher"
    assert (
        describe_difference(0.00999, 0.00039, 0.0205)
        == "higher (+0.0100, 95% CI +0.0004 to +0.0205)"
    )


def test_the_demo_says_what_it_did_with_an_empty_or_a_long_query(minilm):
    from helpers.evaluation import query_note

    assert query_note(minilm, "   ") == "The query is empty: type some words to search for."
    assert query_note(minilm, "what is a lighthouse") == ""
    note = query_note(minilm, "lighthouse keeper " * 1000)  # about 2,000 tokens
    assert re.fullmatch(
        r"Only the first 256 of this query's \d{4} tokens were read \(the model's max_seq_length\)\.",
        note,
    )
