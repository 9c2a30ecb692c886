"""Notebook 06's funnel and latency loop and notebook 07's int8 rescoring, copied from their cells."""

import time

import numpy as np
from sentence_transformers import quantize_embeddings

from helpers.evaluation import normalized_prefix, rank


# Defined in notebook 06
def adaptive_search(query_full, corpus_full, corpus_prefix, k_shortlist, k=10):
    """Shortlist ``k_shortlist`` passages by the renormalised prefix, rerank only those by the full vector."""
    query_prefix = normalized_prefix(query_full, corpus_prefix.shape[1])
    shortlist, _ = rank(query_prefix, corpus_prefix, k_shortlist)  # stage 1: small vectors, whole corpus
    scores = np.einsum("qd,qkd->qk", query_full, corpus_full[shortlist])  # stage 2: full vectors, shortlist only
    order = np.lexsort((shortlist, -scores), axis=1)[:, :k]  # best first, ties to the lower passage index
    return np.take_along_axis(shortlist, order, axis=1), np.take_along_axis(scores, order, axis=1)


# Defined in notebook 06
def latency_ms(search_one, queries, repeats):
    """Milliseconds per query of ``search_one(one_query_row)``, each query alone: median, min and max of repeats."""
    search_one(queries[:1])  # warm-up: the first call pays for allocation and caches
    per_query = []
    for _ in range(repeats):
        start = time.perf_counter()
        for row in range(len(queries)):
            search_one(queries[row : row + 1])
        per_query.append((time.perf_counter() - start) * 1000 / len(queries))
    return {"median_ms": float(np.median(per_query)), "min_ms": min(per_query), "max_ms": max(per_query)}


# Defined in notebook 07
def bytes_per_vector(dim, precision):
    """Storage of one vector: 4 bytes per dim in float32, 1 in int8, 1 bit (rounded up to bytes) in binary."""
    return {"float32": 4 * dim, "int8": dim, "binary": (dim + 7) // 8}[precision]


# Defined in notebook 07
def int8_rescored_search(query_emb, codes, ranges, k=10, rescore_multiplier=4):
    """An int8 first stage, then the float query rescores the shortlist against the dequantised codes."""
    query_codes = quantize_embeddings(query_emb, precision="int8", ranges=ranges)
    # int8 products summed in float32 are exact: |sum| <= dim * 128 * 128 < 2**24 for dim <= 1024
    shortlist, _ = rank(query_codes.astype(np.float32), codes.astype(np.float32), k * rescore_multiplier)
    starts, stops = ranges.astype(np.float32)
    steps = np.where(stops > starts, (stops - starts) / 255, 1.0).astype(np.float32)
    dequantised = (codes[shortlist].astype(np.float32) + 128) * steps + starts  # each bucket's lower edge
    scores = np.einsum("qd,qkd->qk", query_emb, dequantised)
    order = np.lexsort((shortlist, -scores), axis=1)[:, :k]
    return np.take_along_axis(shortlist, order, axis=1), np.take_along_axis(scores, order, axis=1)
