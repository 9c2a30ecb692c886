# ruff: noqa: F821, E402  (the names come from notebook 04's cells; tests/exercises/README.md)
# %% 1 parameters
TRUNCATE_DIM = 48

# %% 1
from helpers.evaluation import encode, evaluate_embeddings

at_full_size = SentenceTransformer(str(MODEL_DIR))  # no truncate_dim: full-size queries
queries = encode(at_full_size, list(test.queries.values()), prompt=PROFILE.query_prompt)
around_48 = evaluate_embeddings(queries, full, test, [64, 48, 32], "x")
print(around_48[["dim", "mrr@10"]])

# %% 2
index_half = index_small.astype(np.float16)
idx_half, _ = rank(q, index_half, k=3)
print(f"{index_small.nbytes} bytes in float32, {index_half.nbytes} in float16")
print("the same top 3:", idx_half.tolist() == idx.tolist())
