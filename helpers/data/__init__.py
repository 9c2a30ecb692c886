"""Data sources (MS MARCO, WordNet, synthetic) and the benchmark built from any of them.

Each source yields rows ``query, positive, negative``; nothing else knows where rows come from.
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset

from helpers.data.benchmark import Benchmark, Splits, build_benchmark
from helpers.data.cheatsheets import cheatsheet_benchmark, fetch_cheat_sdist, write_sheets_tarball
from helpers.data.msmarco import stream_triplets
from helpers.data.synthetic import synthetic_rows, synthetic_sheets, write_jsonl_shards
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


def load_benchmark(profile: Profile, run_dir: Path) -> Splits:
    """``(train, dev, test)`` for a profile: the same seed gives the same split every time.

    Choices are made on ``dev``; every reported number comes from ``test``. Introduced in notebook 01.
    """
    rows = load_rows(profile, run_dir)
    return build_benchmark(
        rows, profile.n_dev_queries, profile.n_test_queries, profile.n_corpus, profile.n_train, profile.seed
    )


def load_ood_benchmark(profile: Profile, run_dir: Path) -> Benchmark:
    """The out-of-domain benchmark: shell tasks to commands, a kind of text no training row has.

    ``cheatsheets`` reads the sheets of the PyPI sdist ``cheat==2.5.1``, downloaded once into the
    runs folder's ``sources/`` (on Drive in Colab); ``synthetic`` (smoke) writes invented sheets in
    the same layout and reads them back through the very same parser. Introduced in notebook 01.
    """
    if profile.ood_source == "cheatsheets":
        return cheatsheet_benchmark(fetch_cheat_sdist(Path(run_dir).parent / "sources"))
    if profile.ood_source == "synthetic":
        path = Path(run_dir) / "source" / "sheets.tar.gz"
        if not path.is_file():
            write_sheets_tarball(path, synthetic_sheets(profile.seed))
        return cheatsheet_benchmark(path)
    raise ValueError(f"Unknown out-of-domain source {profile.ood_source!r}; use cheatsheets or synthetic.")


__all__ = ["Benchmark", "Splits", "build_benchmark", "load_benchmark", "load_ood_benchmark", "load_rows"]
