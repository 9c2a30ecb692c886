"""S1: the encode-once evaluator in ``helpers`` against ``InformationRetrievalEvaluator`` run once per dim.

    python benchmarks/s1_evaluation.py [--n-queries 300 --n-corpus 3000 --repeats 3]

Same model (all-MiniLM-L6-v2, not fine-tuned), same data (the offline benchmark, cut to size),
same four dims. The reference evaluator re-encodes queries and corpus for every dim, as a learner
calling it with ``truncate_dim=d`` does; ours encodes once at full size and slices. Reports the
speed-up (median of interleaved repeats, with min/max) and the largest absolute difference over
the five shared metrics and four dims. The JSON keeps the fingerprint of the test split the cut
was drawn from (``fingerprints.test``, as in ``results/offline/fingerprints.json``); the model is
the packaged pretrained one, which no run changes, so it has no model fingerprint.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import cut_benchmark, emit, profile_split, quiet, spread

METRICS = ("mrr@10", "recall@10", "ndcg@10", "accuracy@1", "accuracy@10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-queries", type=int, default=300)
    parser.add_argument("--n-corpus", type=int, default=3000)
    parser.add_argument("--dims", type=int, nargs="+", default=[384, 256, 128, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--profile", default="offline", help="whose test split: offline, or smoke (the tests)"
    )
    args = parser.parse_args()
    quiet()

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from helpers.evaluation import encode, evaluate_embeddings
    from helpers.profiles import PACKAGED_MINILM, model_path

    split = profile_split(
        args.profile
    )  # the whole test split: its fingerprint is the committed run's
    bench = cut_benchmark(split, args.n_queries, args.n_corpus)
    model = SentenceTransformer(model_path(PACKAGED_MINILM))
    ours_s, theirs_s, max_diff = [], [], 0.0
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both alike
        start = time.perf_counter()
        queries, corpus = (
            encode(model, list(bench.queries.values())),
            encode(model, list(bench.corpus.values())),
        )
        ours = evaluate_embeddings(queries, corpus, bench, args.dims, "ours")
        ours_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        reference = {}
        for dim in args.dims:
            evaluator = InformationRetrievalEvaluator(
                bench.queries,
                bench.corpus,
                bench.qrels,
                truncate_dim=dim,
                name="ref",
                show_progress_bar=False,
            )
            reference[dim] = evaluator(model)
        theirs_s.append(time.perf_counter() - start)
        for _, row in ours.iterrows():
            for metric in METRICS:
                max_diff = max(
                    max_diff,
                    abs(float(row[metric]) - reference[int(row["dim"])][f"ref_cosine_{metric}"]),
                )
    speedups = [t / o for t, o in zip(theirs_s, ours_s, strict=True)]
    emit(
        "s1_evaluation",
        {
            "data": f"{args.profile} benchmark: {len(bench.queries)} queries, {len(bench.corpus)} passages",
            "model": "all-MiniLM-L6-v2",
            "fingerprints": {"test": split.fingerprint()},
            "dims": args.dims,
            "helpers_seconds": spread(ours_s),
            "reference_seconds": spread(theirs_s),
            "speedup": spread(speedups),
            "max_abs_metric_diff": max_diff,
            "targets": {"speedup_min": 3.5, "max_abs_metric_diff": 1e-6},
            "meets_targets": statistics.median(speedups) >= 3.5
            and max_diff <= 1e-6,  # medians, as everywhere
        },
    )


if __name__ == "__main__":
    main()
