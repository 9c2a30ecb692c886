"""MS MARCO triplet-hard, streamed from the Hugging Face hub (the ``full`` profile).

The same function reads local JSON files in the same schema (the ``smoke`` profile and the
tests), so the code a learner runs in Colab is the code the tests run offline. Introduced in
notebook 01.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from datasets import Dataset

from helpers.data.benchmark import check_columns

MSMARCO_DATASET = "sentence-transformers/msmarco-co-condenser-margin-mse-sym-mnrl-mean-v1"
MSMARCO_CONFIG = "triplet-hard"


def stream_triplets(
    n_rows: int,
    path: str = MSMARCO_DATASET,
    config: str | None = MSMARCO_CONFIG,
    data_files: Sequence[str | Path] | None = None,
) -> Dataset:
    """Stream the first ``n_rows`` triplets and materialise them as an in-memory ``Dataset``.

    ``streaming=True`` reads only the parquet shards ``.take(n_rows)`` needs instead of the
    whole 11.7M-row config. Materialising matters: the trainer's NO_DUPLICATES batch sampler
    only applies to a map-style ``Dataset``, never to a streamed ``IterableDataset``. For local
    files pass ``path="json"`` and ``data_files``. Introduced in notebook 01.
    """
    from datasets import load_dataset

    files = [str(f) for f in data_files] if data_files else None
    try:
        stream = load_dataset(path, name=config, data_files=files, split="train", streaming=True)
        rows = list(stream.take(n_rows))
    except ConnectionError:
        # from None: the learner needs this sentence, not the chain of hub retries under it
        raise ConnectionError(
            f"Cannot reach the Hugging Face hub to stream {path}; check the network, "
            "or set MRL_PROFILE=offline to use the data that ships with the course."
        ) from None
    if not rows:
        raise ValueError(f"{path} yielded no rows; check the dataset name, config and files.")
    check_columns(rows[0].keys(), where=path if files is None else f"{files[0]}")
    return Dataset.from_list(rows)
