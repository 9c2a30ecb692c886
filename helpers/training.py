"""Plumbing around notebook 02's training recipe: sequence length, the recipe file, checkpoints.

The recipe itself (loss, MatryoshkaLoss, training arguments, trainer) is written out in notebook 02
and in ``scripts/train_matryoshka.py``; this module only holds what would drown it.
Introduced in notebook 02.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
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


def checkpoint_to_resume(checkpoint_dir: Path, recipe: Mapping[str, object]) -> str | None:
    """The newest checkpoint made under this very recipe, for ``trainer.train(resume_from_checkpoint=)``.

    Checkpoints from another recipe are removed (with a note), so a changed knob starts afresh
    instead of resuming someone else's run. Introduced in notebook 02.
    """
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint_dir = Path(checkpoint_dir)
    recipe_path = checkpoint_dir / RECIPE_FILE
    if checkpoint_dir.is_dir():
        saved = json.loads(recipe_path.read_text()) if recipe_path.is_file() else None
        if saved != json.loads(json.dumps(dict(recipe))):
            print(f"Parameters changed since the checkpoints in {checkpoint_dir} were made: starting afresh.")
            shutil.rmtree(checkpoint_dir)
    save_recipe(checkpoint_dir, recipe)
    return get_last_checkpoint(str(checkpoint_dir))
