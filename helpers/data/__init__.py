"""Data sources (MS MARCO, WordNet, synthetic) and the benchmark built from any of them.

Each source yields rows ``query, positive, negative``; nothing else knows where rows come from.
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset

from helpers.data.benchmark import Benchmark, build_benchmark
from helpers.data.msmarco import stream_triplets
from helpers.data.synthetic import synthetic_rows, write_jsonl_shards
from helpers.data.wordnet import wordnet_rows
from helpers.profiles import Profile


def load_rows(profile: Profile, run_dir: Path) -> Dataset:
    """The raw rows of a profile's source, before any split.

    ``full`` streams MS MARCO from the hub; ``smoke`` writes its synthetic rows as JSON shards
    and streams them back through the very same loader; ``offline`` parses WordNet from disk.
    Introduced in notebook 01.
    """
    if profile.source == "msmarco":
        return stream_triplets(profile.n_source_rows)
    if profile.source == "synthetic":
        n_queries = max(1, profile.n_source_rows // 3)
        files = write_jsonl_shards(list(synthetic_rows(n_queries, seed=profile.seed)), run_dir / "source")
        return stream_triplets(profile.n_source_rows, path="json", config=None, data_files=files)
    if profile.source == "wordnet":
        rows = list(wordnet_rows())
        return Dataset.from_list(rows[: profile.n_source_rows] if profile.n_source_rows else rows)
    raise ValueError(f"Unknown data source {profile.source!r}; use msmarco, wordnet or synthetic.")


def load_benchmark(profile: Profile, run_dir: Path) -> tuple[Dataset, Benchmark]:
    """Training triplets and the eval benchmark for a profile (same seed, same split every time)."""
    rows = load_rows(profile, run_dir)
    return build_benchmark(rows, profile.n_eval_queries, profile.n_corpus, profile.n_train, profile.seed)


__all__ = ["Benchmark", "build_benchmark", "load_benchmark", "load_rows"]
