# ruff: noqa: F821, E402  (the names come from notebook 01's cells; tests/exercises/README.md)
# %% 1 parameters
EVAL_DIMS = [384, 192, 96, 64, 48, 24]  # 64 stays: FOCUS_DIM must be one of the sizes

# %% 2
from helpers.evaluation import rank, score_indices

idx, _ = rank(query_emb[:, :64], corpus_emb[:, :64], 10)  # raw prefixes: not renormalised
raw_64 = score_indices(idx, test)
print(f"MRR@10 at 64 dims: raw {raw_64['mrr@10']:.3f}, renormalised {by_dim[64]:.3f}")

# %% 3
last_64 = evaluate_embeddings(query_emb[:, -64:], corpus_emb[:, -64:], test, [64], "last_64")
print(f"MRR@10 of the last 64 coordinates {last_64['mrr@10'][0]:.3f}, first 64 {by_dim[64]:.3f}")

# %% 4
dev_query_emb = encode(model, list(dev.queries.values()), prompt=PROFILE.query_prompt)
dev_tables = {  # dev searches the same corpus as test
    "baseline": evaluate_embeddings(dev_query_emb, corpus_emb, dev, DIMS, "baseline"),
    "centred": evaluate_embeddings(
        pca.transform(dev_query_emb), pca.transform(corpus_emb), dev, DIMS, "centred"
    ),
    "uncentred": evaluate_embeddings(
        dev_query_emb @ pca.components_.T, corpus_emb @ pca.components_.T, dev, DIMS, "uncentred"
    ),
}
on_dev = pd.DataFrame({name: t.set_index("dim")["mrr@10"] for name, t in dev_tables.items()})
print(on_dev.round(3))
