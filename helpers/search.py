"""Search with Matryoshka prefixes: vector indexes, shortlist-then-rerank, quantised corpora, latency.

Adaptive retrieval (notebook 06) searches a small prefix of every vector for a shortlist of
``k_shortlist`` candidates, then reranks only those with the full vector. Quantised search
(notebook 07) stores the corpus as int8 or binary codes, shortlists on the codes and rescores
the shortlist with the float query, as sentence-transformers' ``semantic_search_faiss`` does.
All scores are dot products of L2-normalised vectors (cosine similarity).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np

from helpers.evaluation import encode, load_embeddings, normalized_prefix, rank

if TYPE_CHECKING:
    from pathlib import Path

    import faiss
    import pandas as pd
    from sentence_transformers import SentenceTransformer

    from helpers.data.benchmark import Benchmark

Precision = Literal["float32", "int8", "binary"]
PRECISIONS: tuple[Precision, ...] = ("float32", "int8", "binary")


def load_corpus_embeddings(
    path: Path, bench: Benchmark, model: SentenceTransformer, made_by: str, n_check: int = 8
) -> np.ndarray:
    """The full-size corpus embeddings a previous notebook saved, checked against ``model`` and ``bench``.

    Re-encodes the first ``n_check`` passages: a file left by another model or benchmark (say,
    notebook 02 was re-run after 03) is refused with what to run instead of being used silently.
    """
    texts = list(bench.corpus.values())
    corpus_emb = load_embeddings(path, len(texts), model.get_embedding_dimension(), made_by)
    fresh = encode(model, texts[:n_check])
    if not np.allclose(corpus_emb[:n_check], fresh, atol=1e-4):
        raise ValueError(
            f"{path} was made with another model or benchmark; re-run notebook {made_by} to refresh it."
        )
    return corpus_emb


def build_index(embeddings: np.ndarray) -> faiss.IndexFlatIP:
    """An exact inner-product FAISS index over L2-normalised float32 rows."""
    import faiss

    index = faiss.IndexFlatIP(embeddings.shape[1])
    index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    return index


def index_bytes(index: faiss.Index) -> int:
    """Size of a FAISS index once serialised (what it takes on disk and, for flat indexes, in RAM)."""
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def search(
    query_emb: np.ndarray, corpus_emb: np.ndarray, k: int, index: faiss.Index | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k``: with a FAISS ``index`` over ``corpus_emb`` if given, else with numpy."""
    if index is None:
        return rank(query_emb, corpus_emb, k)
    scores, idx = index.search(np.ascontiguousarray(query_emb, dtype=np.float32), min(k, index.ntotal))
    return idx, scores


def rerank(query_emb: np.ndarray, corpus_emb: np.ndarray, candidates: np.ndarray, k: int):
    """Rescore each query's ``candidates`` (row indices) against ``corpus_emb``; keep the best ``k``.

    ``corpus_emb`` may be dequantised or 0/1 vectors; ties are broken by ascending corpus index.
    Returns (indices, scores), each ``(n_queries, min(k, n_candidates))``.
    """
    scores = np.einsum("qd,qkd->qk", query_emb, corpus_emb[candidates])
    order = np.lexsort((candidates, -scores), axis=1)[:, :k]
    return np.take_along_axis(candidates, order, axis=1), np.take_along_axis(scores, order, axis=1)


def adaptive_search(
    query_full: np.ndarray,
    corpus_full: np.ndarray,
    shortlist_dim: int,
    k_shortlist: int,
    k: int = 10,
    shortlist_index: faiss.Index | None = None,
    corpus_small: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Shortlist ``k_shortlist`` documents with the first ``shortlist_dim`` dims, rerank at full size.

    ``query_full`` and ``corpus_full`` are unit-length full-size embeddings. Pass
    ``shortlist_index`` (a FAISS index over the renormalised prefixes) or ``corpus_small`` (the
    same as an array) to avoid truncating the corpus on every call. Introduced in notebook 06.
    """
    if k_shortlist < k:
        raise ValueError(f"k_shortlist={k_shortlist} must be at least k={k}; the reranker can only reorder.")
    query_small = normalized_prefix(query_full, shortlist_dim)
    if shortlist_index is None and corpus_small is None:
        corpus_small = normalized_prefix(corpus_full, shortlist_dim)
    candidates, _ = search(query_small, corpus_small, k_shortlist, index=shortlist_index)
    return rerank(query_full, corpus_full, candidates, k)


def int8_ranges(corpus_emb: np.ndarray) -> np.ndarray:
    """Per-dim (min, max) of the corpus, the calibration ``quantize_embeddings(..., ranges=)`` takes."""
    return np.vstack([corpus_emb.min(axis=0), corpus_emb.max(axis=0)])


def dequantize_int8(codes: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Map int8 codes back to the float coordinates they stand for (the bucket's lower edge)."""
    starts, stops = ranges.astype(np.float32)
    steps = np.where(stops > starts, (stops - starts) / 255, 1.0).astype(np.float32)
    return (codes.astype(np.float32) + 128) * steps + starts


def int8_rescored_search(
    query_emb: np.ndarray, codes: np.ndarray, ranges: np.ndarray, k: int = 10, rescore_multiplier: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """The course's own int8 search: an int8 first stage, then the float query rescores the shortlist.

    ``codes`` come from ``quantize_embeddings(corpus, precision="int8", ranges=ranges)``. The query
    is quantised with the same ranges; ``k * rescore_multiplier`` candidates come from int8 dot
    products and are rescored as float query . dequantised codes (no float corpus is kept).
    sentence-transformers rescores binary codes the same way in ``semantic_search_faiss``; for
    int8 it has no FAISS search, hence this function. Introduced in notebook 07.
    """
    from sentence_transformers import quantize_embeddings

    k_short = min(k * rescore_multiplier, len(codes))
    query_codes = quantize_embeddings(query_emb, precision="int8", ranges=ranges)
    # int8 products summed in float32 are exact: |sum| <= dim * 128 * 128 < 2**24 for dim <= 1024
    candidates, _ = rank(query_codes.astype(np.float32), codes.astype(np.float32), k_short)
    return rerank(query_emb, dequantize_int8(codes, ranges), candidates, k)


def bytes_per_vector(dim: int, precision: Precision) -> int:
    """Storage of one vector: 4 bytes per dim (float32), 1 (int8), or 1 bit rounded up to bytes."""
    return {"float32": 4 * dim, "int8": dim, "binary": (dim + 7) // 8}[precision]


def pareto_front(table: pd.DataFrame, cost: str, value: str) -> pd.Series:
    """True for the rows no other row dominates (at most as costly and better, or cheaper and as good)."""
    import pandas as pd

    costs, values = table[cost].to_numpy(), table[value].to_numpy()
    dominated = [
        bool(np.any(((costs <= c) & (values > v)) | ((costs < c) & (values >= v))))
        for c, v in zip(costs, values, strict=True)
    ]
    return pd.Series([not d for d in dominated], index=table.index)


def latency_ms(
    search_one: Callable[[np.ndarray], object], queries: np.ndarray, repeats: int = 5
) -> dict[str, float]:
    """Per-query latency of ``search_one(query_row)`` in milliseconds: median, min and max of repeats.

    Each repeat times every query one at a time (as a live service receives them) and divides by
    the number of queries; the median over repeats damps noise from a shared machine.
    """
    search_one(queries[:1])  # warm-up: first calls pay for allocation and caches
    per_query = []
    for _ in range(repeats):
        start = time.perf_counter()
        for row in range(len(queries)):
            search_one(queries[row : row + 1])
        per_query.append((time.perf_counter() - start) * 1000 / len(queries))
    return {"median_ms": float(np.median(per_query)), "min_ms": min(per_query), "max_ms": max(per_query)}
