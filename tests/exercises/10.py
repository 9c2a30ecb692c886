# ruff: noqa: F821, E402  (the names come from notebook 10's cells; tests/exercises/README.md)
# %% 1 parameters
MAX_STEPS = -1  # notebook 02's steps (the smoke and full profiles' value already)

# %% 2 parameters
MODEL_DIR = RUN_DIR / "models" / "matryoshka_2d_one_dim"

# %% 2 instead of: loss = Matryoshka2dLoss(
loss = Matryoshka2dLoss(model, base_loss, matryoshka_dims=DIMS)  # n_dims_per_step=1

# %% 2
# after the training: both 2D models on dev, at every layer count and size
texts = {"queries": list(dev.queries.values()), "corpus": list(dev.corpus.values())}
first_run = SentenceTransformer(str(RUN_DIR / "models" / "matryoshka_2d"))
tables = []
for name, m in (("one_dim", model), ("first_run", first_run)):
    q = encode_by_depth(m, texts["queries"], LAYERS, prompt=QUERY_PROMPT)
    c = encode_by_depth(m, texts["corpus"], LAYERS)
    tables += [evaluate_embeddings(q[k], c[k], dev, EVAL_DIMS, f"{name}_{k}layers") for k in LAYERS]
on_dev = pd.concat(tables)
print(on_dev.pivot(index="model", columns="dim", values=METRIC).round(3))

# %% 3 parameters
MODEL_DIR = RUN_DIR / "models" / "matryoshka_2d_no_kl"

# %% 3 instead of: loss = Matryoshka2dLoss(
loss = Matryoshka2dLoss(model, base_loss, matryoshka_dims=DIMS, n_dims_per_step=-1, kl_div_weight=0)

# %% 4
from helpers.evaluation import normalized_prefix
from helpers.search import adaptive_search, latency_ms

serve_dir = RUN_DIR / "models" / f"matryoshka_2d_{SERVE_LAYERS}layers"  # saved above
served_full = SentenceTransformer(str(serve_dir))  # full size: the funnel re-ranks with it
corpus_cut = encode(served_full, list(test.corpus.values()))
prefix_cut = normalized_prefix(corpus_cut, SERVE_DIM)


def encode_and_search(texts):  # one query, end to end: encode, shortlist by the prefix, rerank
    query = encode(served_full, list(texts), prompt=QUERY_PROMPT)
    return adaptive_search(query, corpus_cut, prefix_cut, 100, 10)


test_queries = list(test.queries.values())
end_to_end = latency_ms(encode_and_search, test_queries, 1)
print(f"{SERVE_LAYERS} layers, {SERVE_DIM}-d shortlist: {end_to_end['median_ms']:.1f} ms a query")

# %% 5
# every nn.Linear in int8 but those of the last layer, chosen on dev against all-int8 and float32
import warnings
from functools import partial

from helpers.search import latency_ms

warnings.filterwarnings("ignore", message="torch.ao.quantization is deprecated")
warnings.filterwarnings("ignore", message="torch.quantize_per_tensor")
reference = SentenceTransformer(str(MATRYOSHKA_DIR), device="cpu")  # notebook 02's model
all_but_last = {
    name
    for name, module in reference.named_modules()
    if isinstance(module, torch.nn.Linear) and f"layer.{depth - 1}." not in name
}
candidates = {
    "float32": reference,
    "int8": torch.ao.quantization.quantize_dynamic(reference, {torch.nn.Linear}, dtype=torch.qint8),
    "last layer float32": torch.ao.quantization.quantize_dynamic(
        reference, all_but_last, dtype=torch.qint8
    ),
}
dev_queries, dev_corpus = list(dev.queries.values()), list(dev.corpus.values())
on_dev_5 = {}
for name, candidate in candidates.items():
    q = candidate.encode(dev_queries, prompt=QUERY_PROMPT, batch_size=1)  # one at a time, as served
    c = encode(candidate, dev_corpus)
    table = evaluate_embeddings(q, c, dev, [SERVE_DIM], name)
    one = latency_ms(
        partial(candidate.encode, prompt=QUERY_PROMPT), dev_queries[:LATENCY_QUERIES], 1
    )
    on_dev_5[name] = {METRIC: table[METRIC].iloc[0], "one query ms": one["median_ms"]}
print(pd.DataFrame(on_dev_5).T.round(3))
