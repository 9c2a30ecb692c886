# ruff: noqa: F821, E402  (the names come from notebook 07's cells; tests/exercises/README.md)
# %% 1 parameters
RESCORE_MULTIPLIER = 1

# %% 1
print(grid.pivot(index="dim", columns="precision", values=METRIC).loc[DIMS, PRECISIONS].round(3))


def codes_top10(queries, dim):
    """int8 and binary top 10 by the codes alone (the first stages, before rescoring)."""
    queries, corpus = normalized_prefix(queries, dim), normalized_prefix(corpus_full, dim)
    ranges = np.vstack([corpus.min(axis=0), corpus.max(axis=0)])
    codes = (quantize_embeddings(x, precision="int8", ranges=ranges) for x in (queries, corpus))
    hits, _ = semantic_search_faiss(
        queries,
        corpus_embeddings=quantize_embeddings(corpus, precision="ubinary"),
        corpus_precision="ubinary",
        top_k=10,
        rescore=False,
    )
    return {
        "int8": rank(*(c.astype(np.float32) for c in codes), 10)[0],
        "binary": np.array([[hit["corpus_id"] for hit in row] for row in hits]),
    }


# with one candidate per result, rescoring reorders the codes' own top 10: the same passages
same_passages = {
    (dim, precision): all(
        set(rescored) == set(codes)
        for rescored, codes in zip(
            top10_by_precision(query_full, dim)[precision],
            codes_top10(query_full, dim)[precision],
            strict=True,
        )
    )
    for dim in DIMS
    for precision in ("int8", "binary")
}
print("the same 10 passages as the codes alone:", same_passages)

# %% 2 instead of: ranges = np.vstack([corpus.min(axis=0), corpus.max(axis=0)])
ranges = np.vstack([corpus[:1000].min(axis=0), corpus[:1000].max(axis=0)])  # a sample's ranges
