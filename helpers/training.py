"""Plumbing around notebook 02's training recipe: sequence length, the recipe file, checkpoints.

The recipe itself (loss, MatryoshkaLoss, training arguments, trainer) is written out in notebook 02
and in ``scripts/train_matryoshka.py``; this module only holds what would drown it.
Introduced in notebook 02.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import random
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from helpers.profiles import run_first

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

RECIPE_FILE = "recipe.json"


def fit_max_seq_length(model: SentenceTransformer, texts: Sequence[str], quantile: float = 0.99) -> int:
    """The smallest multiple of 8 covering ``quantile`` of the texts' token lengths.

    Training cost grows with ``max_seq_length``, so size it to the data rather than keep the
    model's default (256 for MiniLM, 512 for BGE). Introduced in notebook 02.
    """
    lengths = [len(ids) for ids in model.tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
    needed = int(np.ceil(np.quantile(lengths, quantile)))
    return int(min(model.max_seq_length, 8 * math.ceil(needed / 8)))


def sequence_length_for(model: SentenceTransformer, train_rows: Dataset, n_sample: int = 2000) -> int:
    """``fit_max_seq_length`` over the queries, positives and negatives of the first ``n_sample`` rows."""
    sample = train_rows.select(range(min(n_sample, len(train_rows))))
    return fit_max_seq_length(
        model, [text for column in ("query", "positive", "negative") for text in sample[column]]
    )


def training_texts(
    train_rows: Dataset, n_texts: int, seed: int = 42, at_least: int = 0
) -> tuple[list[str], list[str]]:
    """A seeded sample of distinct training queries and passages, ``n_texts`` in all (queries first up to half).

    What a PCA is fitted on (notebooks 01, 02, 05): training texts only, never dev or test. A PCA
    of ``d`` dimensions needs at least ``d`` texts (``at_least``), else one sentence says so.
    Introduced in notebook 01.
    """
    queries = sorted(set(train_rows["query"]))
    passages = sorted(set(train_rows["positive"]) | set(train_rows["negative"]))
    rng = random.Random(seed)
    n_queries = min(n_texts // 2, len(queries))
    picked = rng.sample(queries, n_queries), rng.sample(passages, min(n_texts - n_queries, len(passages)))
    if len(picked[0]) + len(picked[1]) < at_least:
        raise ValueError(
            f"Only {len(picked[0]) + len(picked[1])} distinct training texts to fit a PCA of {at_least} "
            f"dimensions; raise PCA_FIT_TEXTS or the profile's n_train so there are at least {at_least}."
        )
    return picked


def save_recipe(folder: Path, recipe: Mapping[str, object]) -> None:
    """Write ``recipe.json`` (every knob of a training run) into ``folder``."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / RECIPE_FILE).write_text(json.dumps(dict(recipe), indent=2))


def load_recipe(model_dir: Path, made_by: str) -> dict[str, object]:
    """The recipe a saved model was trained with, or say which notebook to run to make it.

    Notebook 05 trains its control model with exactly notebook 02's recipe, minus MatryoshkaLoss.
    """
    path = Path(model_dir) / RECIPE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No training recipe at {path}; {run_first(made_by)}")
    return json.loads(path.read_text())


def check_training_knobs(
    batch_size: object, learning_rate: object, epochs: object, warmup: object, n_train: int
) -> None:
    """One sentence per impossible knob, raised before anything is trained or deleted.

    Introduced in notebook 02.
    """

    def whole(value: object) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0

    if not whole(batch_size):
        raise ValueError(f"BATCH_SIZE={batch_size!r} must be a positive whole number such as 32.")
    if not isinstance(learning_rate, numbers.Real) or not 0 < learning_rate < 1:
        raise ValueError(f"LEARNING_RATE={learning_rate!r} must be a small positive number such as 2e-5.")
    if not whole(epochs):
        raise ValueError(f"EPOCHS={epochs!r} must be a positive whole number such as 1.")
    if not isinstance(warmup, numbers.Real) or not 0 <= warmup < 1:
        raise ValueError(
            f"WARMUP={warmup!r} must be a fraction of the steps, from 0 up to (not including) 1."
        )
    if n_train < batch_size:
        raise ValueError(
            f"The training set has {n_train} rows, fewer than BATCH_SIZE={batch_size}; "
            "lower the batch size or use more training rows."
        )


CHECKPOINT = re.compile(r"checkpoint-\d+")


def checkpoint_to_resume(checkpoint_dir: Path, recipe: Mapping[str, object]) -> str | None:
    """The newest complete checkpoint made under this very recipe, for ``trainer.train(resume_from_checkpoint=)``.

    Only the Trainer's own ``checkpoint-<step>`` folders are ever deleted, never ``checkpoint_dir``
    itself or anything else in it (``CHECKPOINT_DIR = RUN_DIR`` loses no results): those of
    another recipe, so a changed knob starts afresh, and those cut off mid-write (no
    ``trainer_state.json``), each with a note. Introduced in notebook 02.
    """
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    checkpoints = [p for p in checkpoint_dir.iterdir() if p.is_dir() and CHECKPOINT.fullmatch(p.name)]
    recipe_path = checkpoint_dir / RECIPE_FILE
    try:
        saved = json.loads(recipe_path.read_text()) if recipe_path.is_file() else None
    except json.JSONDecodeError:
        saved = None
    if checkpoints and saved != json.loads(json.dumps(dict(recipe))):
        print(f"Parameters changed since the checkpoints in {checkpoint_dir} were made: starting afresh.")
        for folder in checkpoints:
            shutil.rmtree(folder)
    for folder in checkpoints:
        if folder.is_dir() and not (folder / "trainer_state.json").is_file():
            print(f"{folder} was cut off while being written: removed, resuming from the one before.")
            shutil.rmtree(folder)
    save_recipe(checkpoint_dir, recipe)
    return get_last_checkpoint(str(checkpoint_dir))


@contextlib.contextmanager
def replaced_atomically(folder: Path) -> Iterator[Path]:
    """Write a folder's new contents into a temporary sibling; swap it in only when complete.

    ``with replaced_atomically(MODEL_DIR) as tmp: model.save_pretrained(tmp)``: a save that is
    interrupted leaves the previous model (and its recipe) untouched. Introduced in notebook 02.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.new-"))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
