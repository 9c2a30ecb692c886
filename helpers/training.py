"""The fine-tuning recipe shared by notebooks 02 and 05 and ``python -m helpers.train``.

MultipleNegativesRankingLoss, optionally wrapped in MatryoshkaLoss, trained with
SentenceTransformerTrainer on materialised triplets with the NO_DUPLICATES batch sampler.
Checkpoints are kept, so a re-run after an interruption resumes instead of starting over.
Introduced in notebook 02.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from helpers.models import check_matryoshka_dims, matryoshka_dims
from helpers.profiles import mixed_precision, run_first

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from torch import nn

    from helpers.profiles import Profile

RECIPE_FILE = "recipe.json"


@dataclass(frozen=True)
class Recipe:
    """Every knob of a training run; a checkpoint is resumed only under the same recipe."""

    matryoshka_dims: tuple[int, ...] | None  # None = plain MultipleNegativesRankingLoss
    batch_size: int
    learning_rate: float
    epochs: int
    warmup: float
    max_seq_length: int
    seed: int
    precision: str
    n_train: int
    max_steps: int = -1  # -1 = epochs over the data
    query_prompt: str | None = None  # prepended to the "query" column, as in evaluation (BGE)
    mini_batch_size: int | None = None  # set: CachedMultipleNegativesRankingLoss, chunks of this size


@dataclass
class TrainResult:
    """What a training run reports: where the model went, steps, loss, time, and whether it resumed."""

    model_dir: Path
    global_step: int
    training_loss: float
    seconds: float
    resumed_from: str | None


def load_recipe(model_dir: Path, made_by: str) -> Recipe:
    """The recipe a saved model was trained with, or say which notebook to run to make it.

    Notebook 05 trains its control model with exactly notebook 02's recipe, minus MatryoshkaLoss.
    """
    path = Path(model_dir) / RECIPE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No training recipe at {path}; {run_first(made_by)}")
    saved = json.loads(path.read_text())
    dims = saved.pop("matryoshka_dims")
    return Recipe(matryoshka_dims=tuple(dims) if dims else None, **saved)


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


def profile_recipe(
    profile: Profile,
    model: SentenceTransformer,
    train_rows: Dataset,
    matryoshka: bool = True,
    dims: Sequence[int] | None = None,
    max_steps: int = -1,
) -> Recipe:
    """Notebook 02's recipe from a profile's values, as ``python -m helpers.train`` and the tuning script use it.

    ``dims`` defaults to the model's size and the four powers of two below it; ``matryoshka=False``
    is the plain-MNRL control. A profile without ``max_seq_length`` gets one fitted to the data.
    """
    full_dim = model.get_embedding_dimension()
    return Recipe(
        matryoshka_dims=tuple(dims or matryoshka_dims(full_dim)) if matryoshka else None,
        batch_size=profile.batch_size,
        learning_rate=profile.learning_rate,
        epochs=profile.epochs,
        warmup=profile.warmup,
        max_seq_length=profile.max_seq_length or sequence_length_for(model, train_rows),
        seed=profile.seed,
        precision=profile.precision,
        n_train=len(train_rows),
        max_steps=max_steps,
        query_prompt=profile.query_prompt,
        mini_batch_size=profile.mini_batch_size,
    )


def make_loss(
    model: SentenceTransformer, matryoshka_dims: Sequence[int] | None, mini_batch_size: int | None = None
) -> nn.Module:
    """MultipleNegativesRankingLoss, wrapped in MatryoshkaLoss when ``matryoshka_dims`` is given.

    With ``mini_batch_size`` the base loss is CachedMultipleNegativesRankingLoss: the same loss and
    gradients, computed ``mini_batch_size`` texts at a time so a large batch fits in GPU memory.
    """
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
        MatryoshkaLoss,
        MultipleNegativesRankingLoss,
    )

    # Under torchrun / accelerate launch each GPU holds a slice of the batch; gathering the
    # embeddings keeps every other text in the *global* batch as a negative, as on one device.
    gather = world_size() > 1
    if mini_batch_size:
        base = CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=mini_batch_size, gather_across_devices=gather
        )
    else:
        base = MultipleNegativesRankingLoss(model, gather_across_devices=gather)
    if matryoshka_dims is None:
        return base
    dims = check_matryoshka_dims(matryoshka_dims, model.get_embedding_dimension())
    return MatryoshkaLoss(model, base, matryoshka_dims=dims)


def world_size() -> int:
    """Number of training processes (set by torchrun / accelerate launch; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _last_checkpoint(checkpoint_dir: Path, recipe: Recipe) -> str | None:
    """The newest checkpoint made under this very recipe; stale ones from another recipe are removed."""
    from transformers.trainer_utils import get_last_checkpoint

    recipe_path = checkpoint_dir / RECIPE_FILE
    if checkpoint_dir.is_dir():
        saved = json.loads(recipe_path.read_text()) if recipe_path.is_file() else None
        if saved != json.loads(json.dumps(asdict(recipe))):
            print(f"Parameters changed since the checkpoints in {checkpoint_dir} were made: starting afresh.")
            shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    recipe_path.write_text(json.dumps(asdict(recipe), indent=2))
    return get_last_checkpoint(str(checkpoint_dir))


def make_trainer(
    model: SentenceTransformer,
    train_dataset: Dataset,
    recipe: Recipe,
    checkpoint_dir: Path,
    save_steps: int | None = None,
    callbacks: list | None = None,
) -> tuple[SentenceTransformerTrainer, str | None]:
    """The trainer for ``recipe`` and the checkpoint to resume from (``None``: a fresh start)."""
    import torch
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers

    model.max_seq_length = recipe.max_seq_length
    if len(train_dataset) < recipe.batch_size:
        raise ValueError(
            f"The training set has {len(train_dataset)} rows, fewer than batch_size={recipe.batch_size}; "
            "lower the batch size or use more training rows."
        )
    steps_per_epoch = math.ceil(len(train_dataset) / recipe.batch_size)  # sizes logging and checkpoints only
    total_steps = recipe.max_steps if recipe.max_steps > 0 else steps_per_epoch * recipe.epochs
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        warmup_steps=recipe.warmup,  # a float below 1 is a fraction of the steps (transformers 5)
        batch_sampler=BatchSamplers.NO_DUPLICATES,  # in-batch negatives must not repeat a text
        save_strategy="steps",
        save_steps=save_steps or max(1, total_steps // 4),
        save_total_limit=2,
        logging_steps=max(1, total_steps // 10),
        seed=recipe.seed,
        data_seed=recipe.seed,
        report_to="none",  # no wandb prompt: "Run all" never stops for input
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),  # also lets torchrun on CPUs run real DDP (gloo)
        disable_tqdm=True,
        # the query prompt (BGE's "Represent this sentence ...") on queries, as in evaluation
        prompts={"query": recipe.query_prompt} if recipe.query_prompt else None,
        **mixed_precision(recipe.precision),
    )
    with args.main_process_first(desc="checkpoint check"):  # rank 0 cleans stale checkpoints first
        resume = _last_checkpoint(Path(checkpoint_dir), recipe)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        loss=make_loss(model, recipe.matryoshka_dims, recipe.mini_batch_size),
        callbacks=callbacks,
    )
    return trainer, resume


def train(
    model: SentenceTransformer,
    train_dataset: Dataset,
    model_dir: Path,
    recipe: Recipe,
    checkpoint_dir: Path,
    save_steps: int | None = None,
    callbacks: list | None = None,
) -> TrainResult:
    """Fine-tune ``model`` on ``train_dataset`` and save it to ``model_dir``.

    Resumes from the newest checkpoint in ``checkpoint_dir`` when one exists for the same recipe.
    A CUDA out-of-memory error is re-raised with what to change. Introduced in notebook 02.
    """
    import torch

    trainer, resume = make_trainer(model, train_dataset, recipe, checkpoint_dir, save_steps, callbacks)
    start = time.perf_counter()
    try:
        output = trainer.train(resume_from_checkpoint=resume)
    except torch.cuda.OutOfMemoryError as error:
        raise RuntimeError(
            f"The GPU ran out of memory at batch_size={recipe.batch_size}; halve the batch size or "
            "swap in CachedMultipleNegativesRankingLoss, which keeps large batches in little memory."
        ) from error
    seconds = time.perf_counter() - start
    model_dir = Path(model_dir)
    if trainer.is_world_process_zero():  # several processes, one copy on disk
        model.save_pretrained(str(model_dir))
        (model_dir / RECIPE_FILE).write_text(json.dumps(asdict(recipe), indent=2))
    history = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    return TrainResult(
        model_dir=model_dir,
        global_step=trainer.state.global_step,
        training_loss=float(history[-1]) if history else float(output.training_loss),
        seconds=seconds,
        resumed_from=resume,
    )
