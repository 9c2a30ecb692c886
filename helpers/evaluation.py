"""Encode once, evaluate at every Matryoshka dimension, write metrics and TREC files.

Truncating a normalised embedding leaves a vector shorter than 1, so each prefix is
L2-renormalised before scoring; cosine similarity then equals a dot product. Rankings break score
ties by ascending doc id, like sentence-transformers' InformationRetrievalEvaluator, whose numbers
these match (tests/test_evaluation.py). Introduced in notebook 01.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from helpers.data.benchmark import Benchmark
from helpers.models import check_truncate_dim
from helpers.profiles import run_first
from helpers.results import atomic_file, atomic_write_text

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

METRICS = ("mrr@10", "recall@10", "ndcg@10", "accuracy@1", "accuracy@10")
RUN_DEPTH = 100  # documents per query in the TREC run files


def encode(
    model: SentenceTransformer, texts: Sequence[str], prompt: str | None = None, batch_size: int = 128
) -> np.ndarray:
    """Encode texts at the model's full size as float32 (one row per text)."""
    return model.encode(
        list(texts),
        prompt=prompt,
        batch_size=batch_size,
        convert_to_numpy=True,
        show_progress_bar=False,
    ).astype(np.float32, copy=False)


def normalized_prefix(embeddings: np.ndarray, dim: int) -> np.ndarray:
    """The first ``dim`` coordinates of each row, L2-renormalised to unit length (two steps, one call).

    A prefix of a unit vector is shorter than 1; renormalising makes its dot product a cosine again.
    """
    check_truncate_dim(dim, embeddings.shape[1])
    prefix = embeddings[:, :dim]
    norms = np.linalg.norm(prefix, axis=1, keepdims=True)
    return prefix / np.maximum(norms, 1e-12)


def rank(
    query_emb: np.ndarray, corpus_emb: np.ndarray, k: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by dot product: (indices, scores), each ``(n_queries, k)``.

    Ties are broken by ascending corpus index, so the order is fully deterministic.
    """
    k = min(k, corpus_emb.shape[0])
    all_idx, all_scores = [], []
    for start in range(0, query_emb.shape[0], chunk):
        scores = query_emb[start : start + chunk] @ corpus_emb.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        for row, threshold in zip(scores, kth[:, 0], strict=True):
            candidates = np.flatnonzero(row >= threshold)  # every tie at the cut-off competes by index
            order = np.lexsort((candidates, -row[candidates]))[:k]
            all_idx.append(candidates[order])
            all_scores.append(row[candidates[order]])
    return np.stack(all_idx), np.stack(all_scores)


def per_query_metrics(ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> dict[str, np.ndarray]:
    """MRR@10, Recall@10, NDCG@10 (binary gains), Accuracy@1/@10 for each query.

    ``ranked[i]`` is query i's doc ids best first; ``relevant[i]`` its set of relevant ids.
    """
    mrr, recall, ndcg, acc1, acc10 = [], [], [], [], []
    for docs, rel in zip(ranked, relevant, strict=True):
        hits = [1.0 if d in rel else 0.0 for d in list(docs)[:10]]
        first = next((i for i, h in enumerate(hits) if h), None)
        mrr.append(0.0 if first is None else 1.0 / (first + 1))
        recall.append(sum(hits) / len(rel))
        dcg = sum(h / np.log2(i + 2) for i, h in enumerate(hits))
        ideal = sum(1.0 / np.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg.append(dcg / ideal)
        acc1.append(hits[0] if hits else 0.0)
        acc10.append(1.0 if first is not None else 0.0)
    return {m: np.array(v) for m, v in zip(METRICS, (mrr, recall, ndcg, acc1, acc10), strict=True)}


def retrieval_metrics(ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> dict[str, float]:
    """The metrics of ``per_query_metrics`` averaged over queries."""
    return {m: float(np.mean(v)) for m, v in per_query_metrics(ranked, relevant).items()}


def per_query_from_trec(
    run_dir: Path, model_name: str, dim: int, metric: str = "mrr@10", made_by: str | None = None
) -> pd.Series:
    """Per-query ``metric`` read back from the TREC files an evaluation wrote (``qrels.txt`` and the run).

    The TREC files are the record of every ranking, so intervals are computed from exactly what
    the metrics were. Indexed by query id. Introduced in notebook 03.
    """
    run_dir = Path(run_dir)
    path = run_dir / f"run_{model_name}_dim{dim}.txt"
    if not path.is_file():
        advice = run_first(made_by) if made_by else f"evaluate {model_name!r} at {dim} dims first."
        raise FileNotFoundError(f"{path} is missing; {advice}")
    qrels: dict[str, set[str]] = {}
    for line in (run_dir / "qrels.txt").read_text().splitlines():
        qid, _, doc, _ = line.split()
        qrels.setdefault(qid, set()).add(doc)
    ranked: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        qid, _, doc, _rank, _score, _tag = line.split()
        ranked.setdefault(qid, []).append(doc)  # written best first
    qids = sorted(qrels)
    values = per_query_metrics([ranked.get(q, []) for q in qids], [qrels[q] for q in qids])[metric]
    return pd.Series(values, index=qids, name=f"{model_name}@{dim}")


def paired_difference(
    a: np.ndarray, b: np.ndarray, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over the same queries, with a paired bootstrap confidence interval.

    Resamples queries (both systems' scores for a query stay together) with scipy's
    ``bootstrap(..., paired=True)`` (BCa), from a fixed seed. Returns (difference, low, high).
    Introduced in notebook 03.
    """
    from scipy.stats import bootstrap

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(np.mean(a - b))
    if np.allclose(a, b):
        return diff, diff, diff  # identical scores: no spread to resample
    result = bootstrap(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        paired=True,
        vectorized=True,
        confidence_level=confidence,
        n_resamples=n_resamples,
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return diff, float(low), float(high)


def describe_difference(diff: float, low: float, high: float, unit: str = "") -> str:
    """Words that follow the interval: a gain or a loss only when the interval excludes 0.

    Three decimals, or four when a bound would otherwise print as +0.000 next to "higher".
    """
    digits = 3 if all(v == 0 or abs(v) >= 0.0005 for v in (low, high)) else 4
    span = f"{diff:+.{digits}f}{unit}, 95% CI {low:+.{digits}f} to {high:+.{digits}f}"
    if low > 0:
        return f"higher ({span})"
    if high < 0:
        return f"lower ({span})"
    return f"no measurable difference ({span})"


def score_indices(indices: np.ndarray, bench: Benchmark) -> dict[str, float]:
    """Metrics of rankings given as corpus row numbers, one row per query in ``bench.queries`` order."""
    doc_ids = np.array(list(bench.corpus))
    return retrieval_metrics(doc_ids[indices], [bench.qrels[q] for q in bench.queries])


def evaluate_embeddings(
    query_emb: np.ndarray,
    corpus_emb: np.ndarray,
    bench: Benchmark,
    dims: Sequence[int],
    model_name: str,
    out_dir: Path | None = None,
) -> pd.DataFrame:
    """Metrics per dim from full-size embeddings; writes TREC qrels and run files when ``out_dir`` is set.

    Returns one row per dim with the columns of ``runs/<profile>/metrics.csv``.
    """
    qids, doc_ids = list(bench.queries), np.array(list(bench.corpus))
    relevant = [bench.qrels[q] for q in qids]
    rows = []
    for dim in dims:
        idx, scores = rank(normalized_prefix(query_emb, dim), normalized_prefix(corpus_emb, dim), RUN_DEPTH)
        ranked = doc_ids[idx]
        rows.append(
            {
                "model": model_name,
                "dim": int(dim),
                **retrieval_metrics(ranked, relevant),
                "n_queries": len(qids),
                "n_corpus": len(doc_ids),
            }
        )
        if out_dir is not None:
            write_trec_run(Path(out_dir) / f"run_{model_name}_dim{dim}.txt", qids, ranked, scores, model_name)
    if out_dir is not None:
        write_trec_qrels(Path(out_dir) / "qrels.txt", bench.qrels)
    return pd.DataFrame(rows)


def evaluate_model(
    model: SentenceTransformer,
    bench: Benchmark,
    dims: Sequence[int],
    model_name: str,
    query_prompt: str | None = None,
    out_dir: Path | None = None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Encode queries and corpus once at full size, then evaluate every dim in ``dims``.

    Returns the metrics table and the full-size (query, corpus) embeddings for reuse.
    Introduced in notebook 01.
    """
    full_dim = model.get_embedding_dimension()
    for dim in dims:
        check_truncate_dim(dim, full_dim)
    query_emb = encode(model, list(bench.queries.values()), prompt=query_prompt)
    corpus_emb = encode(model, list(bench.corpus.values()))
    table = evaluate_embeddings(query_emb, corpus_emb, bench, dims, model_name, out_dir)
    return table, query_emb, corpus_emb


def write_trec_qrels(path: Path, qrels: Mapping[str, set[str]]) -> None:
    """``qid 0 docid 1`` per relevant pair, the qrels format trec_eval and ranx read."""
    lines = [f"{q} 0 {d} 1" for q in qrels for d in sorted(qrels[q])]
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_trec_run(path: Path, qids: Sequence[str], ranked: np.ndarray, scores: np.ndarray, tag: str) -> None:
    """``qid Q0 docid rank score tag`` for the top documents of each query (rank starts at 1)."""
    lines = [
        f"{q} Q0 {d} {r} {s:.6f} {tag}"
        for q, docs, row in zip(qids, ranked, scores, strict=True)
        for r, (d, s) in enumerate(zip(docs, row, strict=True), start=1)
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")


def save_embeddings(path: Path, embeddings: np.ndarray) -> None:
    """``np.save`` through a temporary file and a rename, so an interrupted save leaves no half file."""
    with atomic_file(path, "wb") as handle:
        np.save(handle, np.asarray(embeddings, dtype=np.float32))


def load_embeddings(path: Path, n_rows: int, dim: int, made_by: str) -> np.ndarray:
    """Embeddings an earlier notebook saved, checked to be ``n_rows`` x ``dim`` before anything uses them.

    A missing, unreadable or wrong-shaped file (another profile, model or benchmark) gets one
    sentence naming the file and the notebook that writes it. Introduced in notebook 04.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {run_first(made_by)}")
    try:
        embeddings = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise ValueError(
            f"{path} is damaged (not a readable .npy file); re-run notebook {made_by} to write it again."
        ) from None
    if embeddings.shape != (n_rows, dim):
        raise ValueError(
            f"{path} has shape {embeddings.shape}, but this benchmark has {n_rows} passages and the model "
            f"{dim} dimensions; re-run notebook {made_by} to write it again."
        )
    return embeddings
