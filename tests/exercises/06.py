# ruff: noqa: F821, E402  (the names come from notebook 06's cells; tests/exercises/README.md)
# %% 1 parameters
SHORTLIST_DIMS = [16, 32, 64]
SHORTLIST_K = [10, 20, 50, 100, 200, 500]  # sizes above the corpus are left out

# %% 1
recall = adaptive.pivot(index=["shortlist_dim", "k_shortlist"], columns="split", values="recall@10")
print(recall.round(3))

# %% 2
hnsw = faiss.IndexHNSWFlat(PREFIX_DIM, 32, faiss.METRIC_INNER_PRODUCT)
hnsw.add(prefix)


def hnsw_funnel(query, k_shortlist):  # faiss_funnel with the HNSW index as its first stage
    _, shortlist = hnsw.search(normalized_prefix(query, PREFIX_DIM), k_shortlist)
    scores = np.einsum("qd,qkd->qk", query, corpus_full[shortlist])
    return np.take_along_axis(shortlist, np.argsort(-scores, axis=1, kind="stable")[:, :K], axis=1)


hnsw_vs_flat = pd.DataFrame(
    {
        name: score_indices(funnel(query_full, k_chosen), test)
        | latency_ms(lambda q, f=funnel: f(q, k_chosen), queries, REPEATS)
        for name, funnel in (("flat", faiss_funnel), ("hnsw", hnsw_funnel))
    }
).T
print(hnsw_vs_flat[["mrr@10", "recall@10", "median_ms"]].round(4))
