"""Encode once at full size, then every Matryoshka size: slice, renormalise, rank, score with trec_eval."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from course_data.splits import Benchmark
from helpers.knobs import check_knob, is_whole
from helpers.profiles import run_first
from helpers.run_files import atomic_write

MEASURES = {  # our name -> trec_eval's measure; the run holds 10 documents per query: recip_rank is MRR@10
    "mrr@10": "recip_rank",
    "recall@10": "recall_10",
    "ndcg@10": "ndcg_cut_10",
    "accuracy@1": "success_1",
    "accuracy@10": "success_10",
}
RUN_DEPTH = 100  # documents per query kept in the TREC run files


def matryoshka_dims(full_dim: int, n_smaller: int = 4) -> list[int]:
    """The full size, then the ``n_smaller`` largest powers of two below it: 384 -> [384, 256, 128, 64, 32]."""
    power = 1 << (full_dim - 1).bit_length() - 1  # the largest power of two strictly below full_dim
    return [full_dim] + [power >> i for i in range(n_smaller) if power >> i >= 1]


def check_truncate_dim(dim: object, full_dim: int, knob: str = "truncate_dim") -> int:
    """One size checked against the model's dimension, with a sentence naming the knob the learner set."""
    allowed = f"a whole number from 1 to the model's {full_dim} dimensions, such as one of {matryoshka_dims(full_dim)}"
    check_knob(knob, dim, allowed, lambda d: is_whole(d, 1, full_dim))
    return int(dim)


def check_dims(dims: object, full_dim: int, knob: str) -> list[int]:
    """A list of sizes a learner set (``EVAL_DIMS``, ``MATRYOSHKA_DIMS``): whole, from 1 to full size, each once."""

    def ok(d):
        return not isinstance(d, str) and 0 < len(set(d)) == len(d) and all(is_whole(x, 1, full_dim) for x in d)

    check_knob(knob, dims, f"a list of different sizes from 1 to {full_dim}, e.g. {matryoshka_dims(full_dim)}", ok)
    return [int(dim) for dim in dims]


def encode(model, texts: Sequence[str], prompt: str | None = None) -> np.ndarray:
    """Full-size float32 embeddings, one row per text (with ``prompt`` before each, e.g. BGE's query prompt)."""
    return model.encode(list(texts), prompt=prompt, batch_size=128, convert_to_numpy=True, show_progress_bar=False)


def query_note(model, query: str, prompt: str | None = None) -> str:
    """What was done with a query: nothing to search if it is blank, else how much of a long one was read."""
    if not query.strip():
        return "The query is empty: type some words to search for."
    n_tokens = len(model.tokenizer((prompt or "") + query, verbose=False)["input_ids"])
    if n_tokens <= model.max_seq_length:
        return ""
    limit = model.max_seq_length
    return f"Only the first {limit} of this query's {n_tokens} tokens were read (the model's max_seq_length)."


def normalized_prefix(embeddings: np.ndarray, dim: int) -> np.ndarray:
    """The first ``dim`` coordinates of each row, L2-renormalised, so a dot product is a cosine again."""
    prefix = embeddings[:, : check_truncate_dim(dim, embeddings.shape[1])]
    return prefix / np.maximum(np.linalg.norm(prefix, axis=1, keepdims=True), 1e-12)


def rank(query_emb: np.ndarray, corpus_emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by dot product, (indices, scores) each ``(n_queries, k)``; ties go to the lower index."""
    k = min(k, corpus_emb.shape[0])
    found, kept = [], []
    for start in range(0, len(query_emb), 1024):  # 1,024 queries at a time bounds the score matrix
        scores = query_emb[start : start + 1024] @ corpus_emb.T
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        for row, threshold in zip(scores, kth[:, 0], strict=True):
            candidates = np.flatnonzero(row >= threshold)  # every tie at the cut-off competes by index
            best = candidates[np.lexsort((candidates, -row[candidates]))[:k]]
            found.append(best)
            kept.append(row[best])
    return np.stack(found), np.stack(kept)


def score_rankings(ranked: dict[str, Sequence[str]], qrels: dict[str, set[str]]) -> pd.DataFrame:
    """trec_eval's measures per query (rows in ``qrels`` order) for doc ids ranked best first."""
    import pytrec_eval

    run = {q: {d: float(10 - i) for i, d in enumerate(list(docs)[:10])} for q, docs in ranked.items()}
    relevance = {q: {d: 1 for d in rel} for q, rel in qrels.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(relevance, {"recip_rank", "recall.10", "ndcg_cut.10", "success.1,10"})
    scores = evaluator.evaluate({q: docs for q, docs in run.items() if docs})
    table = {ours: [scores.get(q, {}).get(theirs, 0.0) for q in qrels] for ours, theirs in MEASURES.items()}
    return pd.DataFrame(table, index=list(qrels))


def score_indices(indices: np.ndarray, bench: Benchmark) -> dict[str, float]:
    """Mean metrics of rankings given as corpus row numbers, one row per query in ``bench.queries`` order."""
    doc_ids = np.array(list(bench.corpus))
    ranked = dict(zip(bench.queries, doc_ids[indices].tolist(), strict=True))
    return score_rankings(ranked, {q: bench.qrels[q] for q in bench.queries}).mean().to_dict()


def evaluate_embeddings(
    query_emb: np.ndarray,
    corpus_emb: np.ndarray,
    bench: Benchmark,
    dims: Sequence[int],
    model_name: str,
    out_dir: Path | None = None,
) -> pd.DataFrame:
    """Metrics per dim from full-size embeddings, a row per dim; with ``out_dir``, TREC qrels and run files too."""
    qids, doc_ids = list(bench.queries), np.array(list(bench.corpus))
    rows = []
    for dim in dims:
        idx, scores = rank(normalized_prefix(query_emb, dim), normalized_prefix(corpus_emb, dim), RUN_DEPTH)
        ranked = dict(zip(qids, doc_ids[idx].tolist(), strict=True))
        means = score_rankings(ranked, {q: bench.qrels[q] for q in qids}).mean().to_dict()
        rows.append(
            {
                "model": model_name,
                "dim": int(dim),
                **means,
                "n_queries": len(qids),
                "n_corpus": len(doc_ids),
                "benchmark": bench.fingerprint(),
            }
        )
        if out_dir is not None:
            lines = [
                f"{q} Q0 {d} {r} {s:.6f} {model_name}"
                for q, docs, row in zip(qids, ranked.values(), scores, strict=True)
                for r, (d, s) in enumerate(zip(docs, row, strict=True), start=1)
            ]
            atomic_write(Path(out_dir) / f"run_{model_name}_dim{dim}.txt", "\n".join(lines) + "\n")
    if out_dir is not None:
        qrels = [f"{q} 0 {d} 1" for q in qids for d in sorted(bench.qrels[q])]
        atomic_write(Path(out_dir) / "qrels.txt", "\n".join(qrels) + "\n")
    return pd.DataFrame(rows)


def per_query_from_trec(trec_dir: Path, model_name: str, dim: int, metric="mrr@10", made_by=None) -> pd.Series:
    """Per-query ``metric`` scored from the TREC files an evaluation wrote, so intervals describe those rankings."""
    path = Path(trec_dir) / f"run_{model_name}_dim{dim}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {run_first(made_by or f'evaluating {model_name} at {dim} dims')}")
    read = dict(sep=" ", header=None, dtype=object, keep_default_na=False)  # object, not str: groupby 4x faster
    qrels = pd.read_csv(Path(trec_dir) / "qrels.txt", **read).groupby(0)[2].agg(set)
    run = pd.read_csv(path, **read).groupby(0, sort=False)[2].agg(list)  # written best first
    return score_rankings(run.to_dict(), qrels.to_dict())[metric].rename(f"{model_name}@{dim}")


WORDS = ("higher", "lower", "no measurable difference")  # above 0, below 0, spanning 0


def verdict(low: float, high: float, words=WORDS) -> str:
    """The interval's sign decides: the first word when it lies above 0, the second below, else the third."""
    return words[0] if low > 0 else words[1] if high < 0 else words[2]


def span(diff: float, low: float, high: float, label: str = "95% CI") -> str:
    """A difference and its interval, signed (four decimals if +0.000 would show): +0.062, 95% CI ..."""
    digits = 3 if all(v == 0 or abs(v) >= 0.0005 for v in (low, high)) else 4
    return f"{diff:+.{digits}f}, {label} {low:+.{digits}f} to {high:+.{digits}f}"


def describe_difference(diff: float, low: float, high: float, words=WORDS) -> str:
    """Words that follow the interval (``verdict``), then the numbers (``span``)."""
    return f"{verdict(low, high, words)} ({span(diff, low, high)})"
