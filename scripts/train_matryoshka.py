"""Notebook 02's recipe as one flat script, for one device or many.

    python scripts/train_matryoshka.py --profile offline
    torchrun --nproc_per_node 4 scripts/train_matryoshka.py --profile full
    accelerate launch scripts/train_matryoshka.py --profile full

It reads like notebook 02, top to bottom: model, data, loss, arguments, trainer, train, save. The
profile picks model, data and sizes exactly as in the notebooks; flags override single knobs. The
model lands where notebook 02 saves it (``runs/<profile>/models/matryoshka``), so notebooks 03-07
evaluate it unchanged. Under several processes each GPU takes ``--batch-size`` rows per step, the
in-batch negatives are gathered across GPUs, and only rank 0 writes the model.
tests/test_train_script.py checks that it trains the same model as notebook 02.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.base.sampler import BatchSamplers
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.sentence_transformer.modules import Dense
from sklearn.decomposition import PCA

from helpers import get_profile, runs_dir
from helpers.data import load_benchmark
from helpers.evaluation import encode, evaluate_model
from helpers.models import check_dims, load_model, matryoshka_dims
from helpers.profiles import PROFILES, mixed_precision
from helpers.training import (
    check_training_knobs,
    checkpoint_to_resume,
    replaced_atomically,
    save_recipe,
    sequence_length_for,
    training_texts,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=list(PROFILES), help="default: MRL_PROFILE, else offline/full")
    parser.add_argument(
        "--loss",
        choices=["matryoshka", "mnrl"],
        default="matryoshka",
        help="MatryoshkaLoss over MNRL (notebook 02) or plain MNRL (notebook 05's control)",
    )
    parser.add_argument("--dims", type=int, nargs="+", help="Matryoshka dims (default: full + 4 powers of 2)")
    parser.add_argument("--batch-size", type=int, help="rows per step per device")
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (-1: epochs)")
    parser.add_argument("--max-seq-length", type=int, help="default: fitted to the data's token lengths")
    parser.add_argument(
        "--pca-init",
        action=argparse.BooleanOptionalAction,
        help="start from a PCA rotation layer (default: the profile's pca_init)",
    )
    parser.add_argument("--save-steps", type=int, help="default: a quarter of the run's steps")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--output", type=Path, help="model folder (default: runs/<profile>/models/<name>)")
    parser.add_argument("--evaluate", action="store_true", help="print dev-split MRR@10 per dim afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, callbacks: list | None = None) -> dict[str, object]:
    args = parse_args(argv)
    profile = get_profile(args.profile)
    run_dir = runs_dir(profile)
    name = "matryoshka" if args.loss == "matryoshka" else "standard"
    model_dir = args.output or run_dir / "models" / name
    checkpoint_dir = run_dir / "checkpoints" / Path(model_dir).name

    # Model and data: the same split as the notebooks; max_seq_length sized to the data.
    train_rows, dev, _ = load_benchmark(profile, run_dir)  # --evaluate reports dev: the script tunes
    model = load_model(profile.model)
    model.max_seq_length = (
        args.max_seq_length or profile.max_seq_length or sequence_length_for(model, train_rows)
    )
    full_dim = model.get_embedding_dimension()
    dims = check_dims(args.dims or matryoshka_dims(full_dim), full_dim, knob="--dims")

    # Start from a PCA rotation: a bias-free linear layer after pooling, initialised with the principal
    # axes of training texts, so full-size cosines are unchanged at step 0 and prefixes start ordered.
    pca_init = profile.pca_init if args.pca_init is None else args.pca_init
    if pca_init:
        fit_queries, fit_passages = training_texts(
            train_rows, profile.pca_fit_texts, profile.seed, at_least=full_dim
        )
        fit_emb = np.vstack(
            [encode(model, fit_queries, prompt=profile.query_prompt), encode(model, fit_passages)]
        )
        axes = PCA(random_state=profile.seed).fit(fit_emb).components_
        rotation = Dense(
            full_dim,
            full_dim,
            bias=False,
            activation_function=torch.nn.Identity(),
            init_weight=torch.tensor(axes, dtype=torch.float32),
        )
        model.insert(len(model) - 1, rotation)  # after Pooling, before Normalize

    # Loss: under torchrun each GPU holds a slice of the batch; gathering the embeddings keeps every
    # text of the *global* batch as a negative, as on one device.
    gather = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if profile.mini_batch_size:
        base_loss = CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=profile.mini_batch_size, gather_across_devices=gather
        )
    else:
        base_loss = MultipleNegativesRankingLoss(model, gather_across_devices=gather)
    loss = MatryoshkaLoss(model, base_loss, matryoshka_dims=dims) if args.loss == "matryoshka" else base_loss

    # Arguments: the values of notebook 02's parameters cell.
    recipe = {
        "loss": type(loss).__name__,
        "base_loss": type(base_loss).__name__,
        "matryoshka_dims": list(dims) if args.loss == "matryoshka" else None,
        "batch_size": args.batch_size or profile.batch_size,
        "learning_rate": args.learning_rate or profile.learning_rate,
        "epochs": args.epochs or profile.epochs,
        "max_steps": args.max_steps,
        "warmup": profile.warmup,
        "max_seq_length": model.max_seq_length,
        "query_prompt": profile.query_prompt,
        "precision": profile.precision,
        "seed": args.seed or profile.seed,
        "n_train": len(train_rows),
        "pca_init": pca_init,
        "pca_fit_texts": profile.pca_fit_texts if pca_init else None,
    }
    check_training_knobs(
        recipe["batch_size"], recipe["learning_rate"], recipe["epochs"], recipe["warmup"], len(train_rows)
    )  # before any checkpoint is deleted
    steps = math.ceil(len(train_rows) / recipe["batch_size"]) * recipe["epochs"]
    training_args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=recipe["epochs"],
        max_steps=args.max_steps,
        per_device_train_batch_size=recipe["batch_size"],
        learning_rate=recipe["learning_rate"],
        warmup_steps=profile.warmup,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        prompts={"query": profile.query_prompt} if profile.query_prompt else None,
        **mixed_precision(profile.precision),
        save_strategy="steps",
        save_steps=args.save_steps or max(1, steps // 4),
        save_total_limit=2,
        logging_steps=max(1, steps // 10),
        seed=recipe["seed"],
        data_seed=recipe["seed"],
        report_to="none",
        use_cpu=not torch.cuda.is_available(),  # also makes torchrun on CPUs real DDP (gloo)
        dataloader_pin_memory=torch.cuda.is_available(),
        disable_tqdm=True,
    )

    # Trainer, train: resume from the newest checkpoint made under this very recipe.
    with training_args.main_process_first(desc="checkpoint check"):  # rank 0 cleans stale ones first
        resume = checkpoint_to_resume(checkpoint_dir, recipe)
    trainer = SentenceTransformerTrainer(
        model=model, args=training_args, train_dataset=train_rows, loss=loss, callbacks=callbacks
    )
    output = trainer.train(resume_from_checkpoint=resume)

    # Save: one copy, written by rank 0, with the recipe beside it.
    if trainer.is_world_process_zero():
        with replaced_atomically(model_dir) as folder:  # an interrupted save leaves the old model whole
            model.save_pretrained(str(folder))
            save_recipe(folder, recipe)
    report = {
        "profile": profile.name,
        "model_dir": str(model_dir),
        "global_step": trainer.state.global_step,
        "training_loss": float(output.training_loss),
        "resumed_from": resume,
        "recipe": recipe,
    }
    if args.evaluate and trainer.is_world_process_zero():
        table, _, _ = evaluate_model(model, dev, dims, name, query_prompt=profile.query_prompt)
        report["mrr@10"] = {int(row["dim"]): round(float(row["mrr@10"]), 4) for _, row in table.iterrows()}
    return report


if __name__ == "__main__":
    result = main()
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result))
    sys.exit(0)
