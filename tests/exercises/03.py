# ruff: noqa: F821, E402  (the names come from notebook 03's cells; tests/exercises/README.md)
# %% 1 parameters
METRIC = "recall@10"

# %% 2
# %pip install ranx
from ranx import Qrels, Run, evaluate

qrels = Qrels.from_file(str(TEST_DIR / "qrels.txt"), kind="trec")
run = Run.from_file(str(TEST_DIR / "run_matryoshka_dim64.txt"), kind="trec")
ranx_mrr = evaluate(qrels, run, "mrr@10")
print(
    f"ranx: MRR@10 {ranx_mrr:.4f}; this notebook: {matryoshka.set_index('dim')['mrr@10'][64]:.4f}"
)
