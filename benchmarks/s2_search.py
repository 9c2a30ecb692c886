"""S2: exact top-10 search latency per dimension, and adaptive shortlist -> rerank.

    python benchmarks/s2_search.py [--n-corpus 100000 --n-queries 50 --repeats 5]

Latency: a corpus of ``--n-corpus`` **random unit vectors** (encoding 100k real passages takes
longer than this whole benchmark on 2 cores; exact search cost depends only on the shape) at
384 and 768 dims, truncated and renormalised to each smaller dim, searched one query at a time
with numpy and with FAISS ``IndexFlatIP`` (notebook 06's index). Quality: adaptive search
(64-d shortlist of K, full-size rerank) on the offline benchmark with the fine-tuned model of
``make run``; K is the smallest shortlist keeping >= 99% of full-size MRR@10, and its latency is
then measured on the 100k corpus. Speed-ups are ratios within one run. The JSON keeps the
fingerprints the quality rests on (``fingerprints``: the test split's and the model's, as in
``results/offline/fingerprints.json``), so a report can refuse a figure of another model or benchmark.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import emit, offline_benchmark, quiet

SHORTLIST_DIM = 64
SHORTLIST_K = (10, 20, 50, 100, 200)


def random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def adaptive_quality() -> dict[str, object]:
    """Full-size vs adaptive MRR@10 on the offline benchmark, with the model ``make run`` trained."""
    from sentence_transformers import SentenceTransformer

    from helpers.evaluation import encode, normalized_prefix, rank, score_indices
    from helpers.profiles import get_profile, runs_dir
    from helpers.run_files import load_embeddings, model_fingerprint, require_saved_model
    from helpers.search import adaptive_search

    run_dir = runs_dir(get_profile("offline"))
    bench = offline_benchmark()
    model_dir = run_dir / "models" / "matryoshka"
    model = SentenceTransformer(
        require_saved_model(model_dir, "02_matryoshka_finetuning (make run)")
    )
    path, texts = run_dir / "matryoshka_corpus_full.npy", list(bench.corpus.values())
    corpus = load_embeddings(path, len(texts), 384, "03_re_evaluation (make run)", model, texts)
    queries = encode(
        model, list(bench.queries.values()), prompt=get_profile("offline").query_prompt
    )
    full = score_indices(rank(queries, corpus, 10)[0], bench)["mrr@10"]
    curve = {}
    for k in SHORTLIST_K:
        idx, _ = adaptive_search(queries, corpus, normalized_prefix(corpus, SHORTLIST_DIM), k, 10)
        curve[k] = score_indices(idx, bench)["mrr@10"]
    chosen = next((k for k in SHORTLIST_K if curve[k] >= 0.99 * full), SHORTLIST_K[-1])
    return {
        "full_mrr@10": full,
        "adaptive_mrr@10_by_k": curve,
        "k": chosen,
        "kept_%": 100 * curve[chosen] / full,
        "fingerprints": {
            "test": bench.fingerprint(),
            "model_matryoshka": model_fingerprint(model_dir),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-corpus", type=int, default=100_000)
    parser.add_argument("--n-queries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    quiet()

    import faiss

    from helpers.evaluation import matryoshka_dims, normalized_prefix, rank
    from helpers.search import adaptive_search, latency_ms

    quality = adaptive_quality()
    k = quality["k"]
    latency, summary = {}, {}
    for full in (384, 768):
        corpus, queries = random_unit(args.n_corpus, full, 0), random_unit(args.n_queries, full, 1)
        rows = {}
        for dim in matryoshka_dims(full):
            small = normalized_prefix(corpus, dim)
            index = faiss.IndexFlatIP(dim)  # notebook 06's index
            index.add(small)
            rows[dim] = {
                "numpy": latency_ms(
                    lambda q, s=small, d=dim: rank(normalized_prefix(q, d), s, 10),
                    queries,
                    args.repeats,
                ),
                "faiss": latency_ms(
                    lambda q, i=index, d=dim: i.search(normalized_prefix(q, d), 10),
                    queries,
                    args.repeats,
                ),
            }
            if dim == SHORTLIST_DIM:
                rows["adaptive"] = {
                    "numpy": latency_ms(
                        lambda q, s=small, c=corpus: adaptive_search(q, c, s, k, 10),
                        queries,
                        args.repeats,
                    ),
                    "faiss": latency_ms(
                        lambda q, i=index, c=corpus: (
                            c[i.search(normalized_prefix(q, SHORTLIST_DIM), k)[1][0]] @ q[0]
                        ),
                        queries,
                        args.repeats,
                    ),
                }
            del index, small
        latency[full] = rows
        ratio = full / SHORTLIST_DIM
        summary[full] = {}
        for lib in ("numpy", "faiss"):
            full_ms = rows[full][lib]["median_ms"]
            speedup_64 = full_ms / rows[SHORTLIST_DIM][lib]["median_ms"]
            summary[full][lib] = {
                "speedup_64": speedup_64,
                "dim_ratio": ratio,
                "share_of_ratio_%": 100 * speedup_64 / ratio,
                "adaptive_speedup": full_ms / rows["adaptive"][lib]["median_ms"],
            }
    best_adaptive = max(s[lib]["adaptive_speedup"] for s in summary.values() for lib in s)
    emit(
        "s2_search",
        {
            "corpus": f"{args.n_corpus} random unit vectors (latency); offline benchmark, real vectors (quality)",
            "queries_timed": args.n_queries,
            "repeats": args.repeats,
            "latency_ms": latency,
            "summary": summary,
            "fingerprints": quality["fingerprints"],
            "adaptive_quality": quality,
            "targets": {"share_of_ratio_%_at_64": 80, "adaptive_kept_%": 99, "adaptive_speedup": 4},
            "meets_targets": {
                f"{full}-d {lib} 64-d speed-up >= 80% of ratio": summary[full][lib][
                    "share_of_ratio_%"
                ]
                >= 80
                for full in summary
                for lib in summary[full]
            }
            | {
                "adaptive keeps >= 99% MRR@10": quality["kept_%"] >= 99,
                "adaptive >= 4x full-size (384-d, faiss)": summary[384]["faiss"]["adaptive_speedup"]
                >= 4,
                "adaptive >= 4x full-size (384-d, numpy)": summary[384]["numpy"]["adaptive_speedup"]
                >= 4,
            },
            "best_adaptive_speedup": best_adaptive,
        },
    )


if __name__ == "__main__":
    main()
