# ruff: noqa: F821, E402  (the names come from notebook 05's cells; tests/exercises/README.md)
# %% 1 parameters
SEED = 7  # below the line that unpacks RECIPE_02, which sets SEED too
MODEL_DIR = RUN_DIR / "models" / "standard_seed7"

# %% 2 parameters
MODEL_DIR = RUN_DIR / "models" / "weighted"

# %% 2 instead of: loss = base_loss
loss = MatryoshkaLoss(model, base_loss, matryoshka_dims=DIMS, matryoshka_weights=[1, 1, 1, 2, 2])

# %% 2
# after the save cell: both models on dev, where the choice is made (the cells below would file
# the new model's results as `standard`)
import pandas as pd
from sentence_transformers import SentenceTransformer

dev_queries, dev_corpus = list(dev.queries.values()), list(dev.corpus.values())
on_dev = {}
for name, m in (("weighted", model), ("matryoshka", SentenceTransformer(str(MATRYOSHKA_DIR)))):
    q, c = encode(m, dev_queries, prompt=QUERY_PROMPT), encode(m, dev_corpus)
    on_dev[name] = evaluate_embeddings(q, c, dev, DIMS, name).set_index("dim")[METRIC]
print(pd.DataFrame(on_dev).round(3))
