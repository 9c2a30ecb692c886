"""Search helpers: adaptive shortlist-then-rerank, quantised search and its parity with sentence-transformers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.evaluation import normalized_prefix, rank
from helpers.search import (
    adaptive_search,
    build_index,
    bytes_per_vector,
    dequantize_int8,
    index_bytes,
    int8_ranges,
    int8_rescored_search,
    latency_ms,
    load_corpus_embeddings,
    pareto_front,
    rerank,
    search,
)


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    return unit(rng.normal(size=(20, 64))), unit(rng.normal(size=(500, 64)))


def test_hand_worked_adaptive_search_recovers_what_the_prefix_misranks():
    # 1-d prefix: doc 0 looks best, doc 2 looks worst; at full size doc 2 is the exact match.
    corpus = unit(np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.5, 0.0, 0.87], [-1.0, 0.0, 0.1]]))
    query = unit(np.array([[0.5, 0.0, 0.87]]))
    prefix_idx, _ = rank(normalized_prefix(query, 1), normalized_prefix(corpus, 1), 2)
    # a 1-d prefix is +-1 after renormalising: docs 0, 1, 2 tie at 1 and the tie goes to the lower index
    assert prefix_idx.tolist() == [[0, 1]]
    idx, scores = adaptive_search(query, corpus, shortlist_dim=1, k_shortlist=3, k=2)
    assert idx.tolist() == [[2, 0]]  # cosines 1.0, then 0.498 (doc 0) vs 0.495 (doc 1)
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-6)
    short, _ = adaptive_search(query, corpus, shortlist_dim=1, k_shortlist=2, k=2)
    assert short.tolist() == [[0, 1]]  # doc 2 never made the shortlist, so reranking cannot find it


def test_adaptive_with_the_whole_corpus_shortlisted_equals_full_search(vectors):
    queries, corpus = vectors
    full_idx, full_scores = rank(queries, corpus, 10)
    idx, scores = adaptive_search(queries, corpus, 8, len(corpus), 10)
    assert np.array_equal(idx, full_idx)
    np.testing.assert_allclose(scores, full_scores, atol=1e-6)


def test_faiss_and_numpy_shortlists_agree(vectors):
    queries, corpus = vectors
    small = normalized_prefix(corpus, 16)
    with_index, _ = adaptive_search(queries, corpus, 16, 50, 10, shortlist_index=build_index(small))
    with_numpy, _ = adaptive_search(queries, corpus, 16, 50, 10, corpus_small=small)
    assert np.array_equal(with_index, with_numpy)
    idx, _ = search(queries, None, 10, index=build_index(corpus))
    assert np.array_equal(idx, rank(queries, corpus, 10)[0])


def test_adaptive_rejects_a_shortlist_shorter_than_k(vectors):
    queries, corpus = vectors
    with pytest.raises(ValueError, match="k_shortlist=5 must be at least k=10"):
        adaptive_search(queries, corpus, 16, 5, 10)


def test_rerank_breaks_ties_by_index():
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    corpus = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    idx, scores = rerank(query, corpus, np.array([[2, 0, 1]]), 3)
    assert idx.tolist() == [[1, 2, 0]] and scores.tolist() == [[1.0, 1.0, 0.0]]


def test_binary_rescoring_is_the_libraries_own(vectors):
    """Notebook 07 searches binary codes with semantic_search_faiss: its rescoring is float query . bits."""
    from sentence_transformers import quantize_embeddings
    from sentence_transformers.util.quantization import semantic_search_faiss

    queries, corpus = vectors
    codes = quantize_embeddings(corpus, precision="ubinary")
    hits, _ = semantic_search_faiss(
        queries, corpus_embeddings=codes, corpus_precision="ubinary", top_k=10, rescore_multiplier=4
    )
    ids = np.array([[hit["corpus_id"] for hit in row] for row in hits])
    scores = np.array([[hit["score"] for hit in row] for row in hits])
    bits = np.unpackbits(codes, axis=1)[:, : corpus.shape[1]].astype(np.float32)
    expected = np.take_along_axis(queries @ bits.T, ids, axis=1)
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    exact, _ = rank(queries, corpus, 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact, strict=True)])
    assert overlap >= 0.3  # random vectors are binary's worst case; chance overlap is 10 / 500


def test_int8_codes_round_trip_within_one_bucket_and_rescoring_with_all_candidates_is_exact(vectors):
    from sentence_transformers import quantize_embeddings

    queries, corpus = vectors
    ranges = int8_ranges(corpus)
    codes = quantize_embeddings(corpus, precision="int8", ranges=ranges)
    assert codes.dtype == np.int8 and codes.shape == corpus.shape
    step = (ranges[1] - ranges[0]) / 255
    assert np.all(np.abs(dequantize_int8(codes, ranges) - corpus) <= step + 1e-6)
    idx, _ = int8_rescored_search(queries, codes, ranges, k=10, rescore_multiplier=len(corpus))
    expected, _ = rank(queries, dequantize_int8(codes, ranges), 10)
    assert np.array_equal(idx, expected)
    exact, _ = rank(queries, corpus, 10)
    idx, _ = int8_rescored_search(queries, codes, ranges, k=10, rescore_multiplier=4)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, exact, strict=True)]) >= 0.9


def test_bytes_and_index_size():
    assert [bytes_per_vector(384, p) for p in ("float32", "int8", "binary")] == [1536, 384, 48]
    assert bytes_per_vector(20, "binary") == 3  # bits are packed into whole bytes
    small, large = (index_bytes(build_index(unit(np.ones((1000, d))))) for d in (64, 384))
    assert small >= 1000 * 64 * 4 and large - small == 1000 * (384 - 64) * 4


def test_hand_worked_pareto_front():
    table = pd.DataFrame({"bytes": [8, 16, 16, 32, 64], "score": [0.2, 0.25, 0.3, 0.3, 0.35]})
    assert pareto_front(table, "bytes", "score").tolist() == [True, False, True, False, True]


def test_latency_reports_median_within_range():
    calls = []
    timing = latency_ms(lambda q: calls.append(len(q)), np.zeros((7, 4)), repeats=3)
    assert calls == [1] * (1 + 7 * 3)  # one warm-up, then every query alone, three times
    assert 0 <= timing["min_ms"] <= timing["median_ms"] <= timing["max_ms"]


class FakeModel:
    """Encodes text i of the corpus as row i of ``rows`` (what a real model would give back)."""

    def __init__(self, rows):
        self.rows = rows

    def encode(self, texts, **kwargs):
        return self.rows[: len(texts)]

    def get_embedding_dimension(self):
        return self.rows.shape[1]


def test_cached_corpus_embeddings_are_checked(smoke_data, tmp_path):
    _, _, bench = smoke_data
    rows = unit(np.random.default_rng(1).normal(size=(len(bench.corpus), 8)))
    path = tmp_path / "corpus.npy"
    with pytest.raises(FileNotFoundError, match="run notebook 03_re_evaluation first"):
        load_corpus_embeddings(path, bench, FakeModel(rows), made_by="03_re_evaluation")
    np.save(path, rows)
    assert np.array_equal(
        load_corpus_embeddings(path, bench, FakeModel(rows), made_by="03_re_evaluation"), rows
    )
    with pytest.raises(ValueError, match="another model or benchmark; re-run notebook 03_re_evaluation"):
        load_corpus_embeddings(path, bench, FakeModel(-rows), made_by="03_re_evaluation")
    np.save(path, rows[:-1])
    with pytest.raises(ValueError, match=r"has shape \(149, 8\), but this benchmark has 150 passages"):
        load_corpus_embeddings(path, bench, FakeModel(rows), made_by="03_re_evaluation")


def test_qdrant_funnel_returns_notebook_06s_top_10(minilm, smoke_data):
    """Notebook 08's collection (prefix + full named vectors) and its prefetch-then-rescore query,
    on the smoke data: the same top 10 as adaptive_search for every test query."""
    from qdrant_client import QdrantClient, models

    _, _, test = smoke_data
    corpus = minilm.encode(list(test.corpus.values()))
    queries = minilm.encode(list(test.queries.values()))
    prefix_dim, k_shortlist = 64, 20
    prefix = normalized_prefix(corpus, prefix_dim)
    client = QdrantClient(location=":memory:")
    client.create_collection(
        "t",
        vectors_config={
            "prefix": models.VectorParams(size=prefix_dim, distance=models.Distance.COSINE),
            "full": models.VectorParams(size=corpus.shape[1], distance=models.Distance.COSINE),
        },
    )
    for start in range(0, len(corpus), 64):  # in batches, as the notebook does
        rows = range(start, min(start + 64, len(corpus)))
        client.upsert(
            "t",
            points=models.Batch(
                ids=list(rows),
                vectors={"prefix": prefix[rows].tolist(), "full": corpus[rows].tolist()},
                payloads=[{"text": t} for t in list(test.corpus.values())[start : rows.stop]],
            ),
        )
    got = np.array(
        [
            [
                hit.id
                for hit in client.query_points(
                    "t",
                    prefetch=models.Prefetch(
                        query=normalized_prefix(q[None], prefix_dim)[0].tolist(),
                        using="prefix",
                        limit=k_shortlist,
                    ),
                    query=q.tolist(),
                    using="full",
                    limit=10,
                ).points
            ]
            for q in queries
        ]
    )
    expected, _ = adaptive_search(queries, corpus, prefix_dim, k_shortlist, 10, corpus_small=prefix)
    assert got.shape == (len(test.queries), 10)
    assert np.array_equal(got, expected)
