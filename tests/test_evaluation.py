"""Evaluation: hand-worked rankings and metrics, and parity with sentence-transformers' evaluator."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.data.benchmark import Benchmark
from helpers.evaluation import (
    describe_difference,
    evaluate_embeddings,
    normalized_prefix,
    paired_difference,
    per_query_from_trec,
    rank,
    retrieval_metrics,
)


def test_metrics_hand_worked():
    ranked = [["a", "b", "c"], ["x", "y", "z"], ["p", "q", "r"]]
    relevant = [{"b"}, {"x", "z"}, {"nope"}]
    m = retrieval_metrics(ranked, relevant)
    # query 1: first hit at rank 2; query 2: hit at rank 1; query 3: none
    assert m["mrr@10"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert m["recall@10"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["accuracy@1"] == pytest.approx(1 / 3)
    assert m["accuracy@10"] == pytest.approx(2 / 3)
    ndcg1 = (1 / math.log2(3)) / 1.0
    ndcg2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["ndcg@10"] == pytest.approx((ndcg1 + ndcg2 + 0) / 3)


def test_truncate_renormalises_prefix():
    v = np.array([[3.0, 4.0, 12.0]]) / 13.0
    t = normalized_prefix(v, 2)
    np.testing.assert_allclose(t, [[0.6, 0.8]])
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0)


def test_truncate_rejects_bad_dims():
    v = np.ones((2, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="larger than the model's 8 dimensions"):
        normalized_prefix(v, 16)
    with pytest.raises(ValueError, match="positive whole number"):
        normalized_prefix(v, 0)


def test_rank_order_and_ties_break_by_index():
    corpus = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    query = np.array([[1.0, 0.0]])
    idx, scores = rank(query, corpus, k=3)
    assert idx.tolist() == [[0, 2, 3]]  # docs 0 and 2 tie at 1.0: lower index first
    np.testing.assert_allclose(scores, [[1.0, 1.0, 0.6]])


def toy_table(out_dir):
    """Two queries, three passages, 3-d vectors: metrics at 3 and 1 dims, with TREC files in ``out_dir``."""
    bench = Benchmark(
        queries={"q1": "first", "q2": "second"},
        corpus={"d1": "a", "d2": "b", "d3": "c"},
        qrels={"q1": {"d2"}, "q2": {"d3"}},
    )
    corpus = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]])
    queries = np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8]])
    return evaluate_embeddings(queries, corpus, bench, [3, 1], "toy", out_dir).set_index("dim")


def test_hand_worked_benchmark_end_to_end(tmp_path):
    table = toy_table(tmp_path)
    # 3 dims: q1 ranks d2 (0.96) > d1 (0.6): hit at 1; q2 ranks d3 (0.8) first: hit at 1.
    assert table.loc[3, "mrr@10"] == pytest.approx(1.0)
    # 1 dim: q1 -> all corpus prefixes renormalise to +1 except d3 (0 -> 0); d1, d2 tie: d1 first
    assert table.loc[1, "mrr@10"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    lines = (tmp_path / "run_toy_dim3.txt").read_text().splitlines()
    assert lines[0].split() == ["q1", "Q0", "d2", "1", "0.960000", "toy"]
    assert (tmp_path / "qrels.txt").read_text().splitlines() == ["q1 0 d2 1", "q2 0 d3 1"]


def test_matches_information_retrieval_evaluator(smoke_data, minilm):
    """Encode-once metrics equal InformationRetrievalEvaluator(truncate_dim=d) at every dim."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from helpers.evaluation import evaluate_model

    _, _, bench = smoke_data
    dims = [384, 128, 64, 32]
    ours, _, _ = evaluate_model(minilm, bench, dims, "baseline")
    for dim, row in ours.set_index("dim").iterrows():
        evaluator = InformationRetrievalEvaluator(
            bench.queries, bench.corpus, bench.qrels, truncate_dim=dim, name="ref", show_progress_bar=False
        )
        ref = evaluator(minilm)
        for metric in ("mrr@10", "recall@10", "ndcg@10", "accuracy@1", "accuracy@10"):
            assert row[metric] == pytest.approx(ref[f"ref_cosine_{metric}"], abs=1e-6), (dim, metric)


def test_per_query_scores_read_back_from_the_trec_files(tmp_path):
    table = toy_table(tmp_path)
    one = per_query_from_trec(tmp_path, "toy", 1)
    assert one.to_dict() == pytest.approx({"q1": 1 / 2, "q2": 1 / 3})  # the hand-worked ranks above
    assert one.mean() == pytest.approx(table.loc[1, "mrr@10"])
    assert per_query_from_trec(tmp_path, "toy", 3, "recall@10").tolist() == [1.0, 1.0]


def test_paired_bootstrap_interval():
    rng = np.random.default_rng(3)
    base = rng.uniform(size=400)
    better = base + 0.05 + rng.normal(scale=0.01, size=400)  # a small, consistent gain on every query
    diff, low, high = paired_difference(better, base)
    assert diff == pytest.approx(0.05, abs=0.002) and 0.0 < low < diff < high < 0.1
    assert paired_difference(better, base) == (diff, low, high)  # fixed seed: the same interval
    noise = base + rng.normal(scale=0.2, size=400)  # no real difference, only noise
    _, low, high = paired_difference(noise, base)
    assert low < 0 < high
    assert paired_difference(base, base) == (0.0, 0.0, 0.0)
    assert describe_difference(0.043, 0.02, 0.06) == "higher (+0.043, 95% CI +0.020 to +0.060)"
    assert describe_difference(-0.01, -0.03, 0.01).startswith("no measurable difference (-0.010")
    assert describe_difference(-0.05, -0.08, -0.02).startswith("lower")
    # a bound just above 0 never prints as +0.000 beside "higher"
    assert describe_difference(0.00999, 0.00039, 0.0205) == "higher (+0.0100, 95% CI +0.0004 to +0.0205)"


def test_differences_are_upserted(tmp_path):
    from helpers.results import save_differences

    row = {"model_a": "matryoshka", "model_b": "baseline", "metric": "mrr@10"}
    save_differences(
        tmp_path, pd.DataFrame([{**row, "dim": 64, "diff": 0.04, "ci_low": 0.02, "ci_high": 0.06}])
    )
    save_differences(
        tmp_path, pd.DataFrame([{**row, "dim": 32, "diff": 0.06, "ci_low": 0.03, "ci_high": 0.09}])
    )
    table = save_differences(
        tmp_path, pd.DataFrame([{**row, "dim": 64, "diff": 0.05, "ci_low": 0.03, "ci_high": 0.07}])
    )
    assert table[["dim", "diff"]].values.tolist() == [[64, 0.05], [32, 0.06]]
    assert list(pd.read_csv(tmp_path / "differences.csv").columns) == [
        "model_a",
        "model_b",
        "dim",
        "metric",
        "diff",
        "ci_low",
        "ci_high",
    ]
