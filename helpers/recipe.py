"""Notebook 02's recipe, copied from its cells (tests/test_notebooks.py keeps them equal) for 05, 10, the script."""

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.base.sampler import BatchSamplers
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.sentence_transformer.modules import Dense
from sklearn.decomposition import PCA
from transformers.trainer_utils import get_last_checkpoint

from helpers.benchmark import training_texts
from helpers.checkpoints import (
    check_and_mark_run_start,
    mark_trained,
    model_and_loss,
    ready_to_save,
    recipe_folder,
    remove_unusable_checkpoints,
    require_pieces_together,
    rows_to_resume,
    stop_if_disk_full,
)
from helpers.evaluation import encode
from helpers.knobs import check_knob, is_whole
from helpers.sources import model_path

# Defined in notebook 02: the recipe's knobs per profile, chosen on the dev split (benchmarks/dev_choices.py)
RECIPE_DEFAULTS = {
    "full": {"batch_size": 64, "learning_rate": 2e-5, "mini_batch_size": 32, "precision": "auto"},
    "offline": {"batch_size": 64, "learning_rate": 1e-4, "mini_batch_size": None, "precision": "fp32"},
    "smoke": {"batch_size": 16, "learning_rate": 1e-4, "mini_batch_size": None, "precision": "fp32"},
}


# Defined in notebook 02
def start_model(model_name, train_rows, max_seq_length, pca_fit_texts, query_prompt, seed):
    """The pretrained model with a PCA rotation after pooling, and the token length it trains at."""
    model = SentenceTransformer(model_path(model_name), device="cuda" if torch.cuda.is_available() else "cpu")
    sample = train_rows[:2000]
    lengths = [len(ids) for c in ("query", "positive", "negative") for ids in model.tokenizer(sample[c])["input_ids"]]
    fitted = min(model.max_seq_length, 8 * math.ceil(np.quantile(lengths, 0.99) / 8))  # 99% of the texts fit
    model.course_train_length = max_seq_length or fitted  # for training only: max_seq_length stays the model's
    if pca_fit_texts:
        full_dim = model.get_embedding_dimension()
        queries, passages = training_texts(train_rows, pca_fit_texts, seed, at_least=full_dim)
        fit = np.vstack([encode(model, queries, prompt=query_prompt), encode(model, passages)])
        axes = PCA(random_state=seed).fit(fit).components_  # orthonormal rows: full-size cosines unchanged
        rotation = Dense(full_dim, full_dim, bias=False, activation_function=torch.nn.Identity(),
                         init_weight=torch.tensor(axes, dtype=torch.float32))  # fmt: skip
        model.insert(len(model) - 1, rotation)  # after Pooling, before Normalize
    return model


# Defined in notebook 02
def base_loss_for(model, mini_batch_size):
    """MultipleNegativesRankingLoss, or its cached variant that embeds ``mini_batch_size`` texts at a time."""
    gather = int(os.environ.get("WORLD_SIZE", "1")) > 1  # under torchrun every device's texts are negatives
    if mini_batch_size:
        return CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch_size, gather_across_devices=gather)
    return MultipleNegativesRankingLoss(model, gather_across_devices=gather)


# Defined in notebook 02
def training_arguments(model, loss, train_rows, checkpoint_dir, batch_size, learning_rate, epochs, warmup,
                       precision, query_prompt, seed, pca_fit_texts, max_steps=-1, save_steps=None):  # fmt: skip
    """The Trainer's arguments, checked first, and the recipe they record; a changed recipe checkpoints elsewhere."""
    knobs = dict(locals())  # every argument but the objects and save_steps is part of the recipe
    recipe = {
        k: v for k, v in knobs.items() if k not in ("model", "loss", "train_rows", "checkpoint_dir", "save_steps")
    }
    for knob, value, allowed, ok in [
        ("BATCH_SIZE", batch_size, f"a whole number from 1 to the {len(train_rows)} training rows, such as 32", lambda v: is_whole(v, 1, len(train_rows))),
        ("EPOCHS", epochs, "a positive whole number such as 1", is_whole),
        ("LEARNING_RATE", learning_rate, "a small positive number such as 2e-5", lambda v: isinstance(v, float) and 0 < v < 1),
        ("WARMUP", warmup, "a fraction of the steps, from 0 up to (not including) 1", lambda v: not isinstance(v, bool) and 0 <= v < 1),
    ]:  # fmt: skip
        check_knob(knob, value, allowed, ok)
    recipe |= model_and_loss(model, loss) | {"n_train": len(train_rows)}
    steps = max_steps if max_steps > 0 else math.ceil(len(train_rows) / batch_size) * epochs
    gpu = torch.cuda.is_available() and precision != "fp32"
    bf16 = gpu and torch.cuda.get_device_capability() >= (8, 0)  # a T4 (7.5) only emulates bf16: fp16 there
    args = SentenceTransformerTrainingArguments(
        output_dir=recipe_folder(checkpoint_dir, recipe),  # a folder per recipe
        num_train_epochs=epochs, max_steps=max_steps, per_device_train_batch_size=batch_size, learning_rate=learning_rate,
        warmup_steps=warmup,  # a float below 1: a fraction of all steps (transformers 5)
        batch_sampler=BatchSamplers.NO_DUPLICATES,  # a duplicate in a batch would be its own negative
        prompts={"query": query_prompt} if query_prompt else None,  # BGE: evaluated with it, so trained with it
        bf16=bf16, fp16=gpu and not bf16,
        save_steps=save_steps or max(1, steps // 4), save_total_limit=2, logging_steps=max(1, steps // 10),
        seed=seed, data_seed=seed, report_to="none",
        use_cpu=not torch.cuda.is_available(), dataloader_pin_memory=torch.cuda.is_available(),
    )  # fmt: skip
    return args, recipe


# Defined in notebook 02
def train(model, loss, train_rows, args, recipe, callbacks=None):
    """Train at the recipe's token length, resuming its newest checkpoint; returns (trainer, output, resumed from)."""
    require_pieces_together(model, loss, args, recipe)  # did a cell above run again without the ones after it?
    remove_unusable_checkpoints(args.output_dir)  # cut off while being written, or from an unchecked run
    resume = get_last_checkpoint(args.output_dir) if os.path.isdir(args.output_dir) else None
    check_and_mark_run_start(model, args.output_dir, resume)  # None: from the pretrained model, never on top
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=rows_to_resume(train_rows, args, resume), loss=loss, callbacks=callbacks
    )
    read_length, model.max_seq_length = model.max_seq_length, model.course_train_length  # short texts train fast
    try:
        output = trainer.train(resume_from_checkpoint=resume)
    except Exception as error:
        stop_if_disk_full(error, args.output_dir, "writing a checkpoint")
        raise
    finally:
        model.max_seq_length = read_length  # a speed knob, not a property: the model reads as far as before
    mark_trained(model, recipe)
    model.model_card_data.training_logs = [{"Epoch": log["epoch"], "Step": log["step"], "Training Loss": log["loss"]}
                                           for log in trainer.state.log_history if "loss" in log]  # fmt: skip
    return trainer, output, resume  # (the model card's loss table: the whole run's, also after a resume)


# Defined in notebook 02
def save(model, recipe, model_dir):
    """Save the model and its recipe to a temporary folder that replaces ``model_dir`` only once complete."""
    ready_to_save(model, recipe)  # trained with this recipe: never the pretrained model by mistake
    model_dir = Path(model_dir)
    new, old = model_dir.with_name(f".{model_dir.name}.new"), model_dir.with_name(f".{model_dir.name}.old")
    shutil.rmtree(new, ignore_errors=True)
    try:
        model.save_pretrained(str(new))
        (new / "recipe.json").write_text(json.dumps(recipe, indent=2))
    except BaseException as error:
        shutil.rmtree(new, ignore_errors=True)  # the model saved before stays as it was
        stop_if_disk_full(error, model_dir.parent, "saving the model")
        raise
    shutil.rmtree(old, ignore_errors=True)
    if model_dir.exists():
        model_dir.rename(old)
    new.rename(model_dir)
    shutil.rmtree(old, ignore_errors=True)
