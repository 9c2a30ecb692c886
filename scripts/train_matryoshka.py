"""Notebook 02's recipe from the command line, for one device or many.

    python scripts/train_matryoshka.py --profile offline
    python scripts/train_matryoshka.py --profile full --loss mnrl     # notebook 05's control
    python scripts/train_matryoshka.py --profile full --loss 2d       # notebook 10's Matryoshka2dLoss
    torchrun --nproc_per_node 4 scripts/train_matryoshka.py --profile full
    accelerate launch scripts/train_matryoshka.py --profile full

It runs notebook 02's steps in the notebook's order (data, model, loss, arguments, trainer and
training, save), calling the notebook's own functions (``helpers.recipe``, generated from its cells)
and the same machinery (``helpers.training``); only the loss line depends on ``--loss``. The
profile picks model, data and sizes as in the notebooks; flags override single knobs. The model
lands where notebook 02 saves it (``runs/<profile>/models/matryoshka``), so notebooks 03-10 evaluate
it unchanged. Under several
processes each GPU takes ``--batch-size`` rows per step, the in-batch negatives are gathered
across GPUs, and only rank 0 writes the model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sentence_transformers import SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.losses import Matryoshka2dLoss, MatryoshkaLoss
from transformers.trainer_utils import get_last_checkpoint

from course_data.splits import load_benchmark
from helpers import get_profile, runs_dir
from helpers.evaluation import check_dims, encode, evaluate_embeddings, matryoshka_dims
from helpers.profiles import PROFILES
from helpers.recipe import base_loss_for, start_model, training_arguments  # notebook 02's
from helpers.training import checked_run, whole_or_nothing


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--profile", choices=list(PROFILES), help="default: MRL_PROFILE, else offline/full"
    )
    parser.add_argument(
        "--loss",
        choices=["matryoshka", "mnrl", "2d"],
        default="matryoshka",
        help="MatryoshkaLoss over MNRL (notebook 02), plain MNRL (notebook 05's control) or "
        "Matryoshka2dLoss (notebook 10)",
    )
    parser.add_argument(
        "--dims", type=int, nargs="+", help="Matryoshka dims (default: full + 4 powers of 2)"
    )
    parser.add_argument("--batch-size", type=int, help="rows per step per device")
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=0.1)
    parser.add_argument(
        "--max-steps", type=int, default=-1, help="stop after this many steps (-1: epochs)"
    )
    parser.add_argument(
        "--max-seq-length", type=int, help="default: fitted to the data's token lengths"
    )
    parser.add_argument(
        "--pca-fit-texts", type=int, default=12_000, help="0: start without the PCA rotation"
    )
    parser.add_argument("--save-steps", type=int, help="default: a quarter of the run's steps")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--output", type=Path, help="model folder (default: runs/<profile>/models/<name>)"
    )
    parser.add_argument(
        "--evaluate", action="store_true", help="print dev-split MRR@10 per dim afterwards"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, callbacks: list | None = None) -> dict[str, object]:
    args = parse_args(argv)
    profile = get_profile(args.profile)
    seed = args.seed or profile.seed
    run_dir = runs_dir(profile)
    name = {"matryoshka": "matryoshka", "mnrl": "standard", "2d": "matryoshka_2d"}[args.loss]
    model_dir = args.output or run_dir / "models" / name

    # 1. the data (--evaluate reports dev: the script is for tuning)
    train_rows, dev, _ = load_benchmark(profile, run_dir)
    # 2. the model
    model = start_model(
        profile.model,
        train_rows,
        args.max_seq_length,
        args.pca_fit_texts,
        profile.query_prompt,
        seed,
    )
    full_dim = model.get_embedding_dimension()
    dims = check_dims(args.dims or matryoshka_dims(full_dim), full_dim, knob="--dims")
    # 3. the loss: the one line the variants change. AdaptiveLayerLoss (inside Matryoshka2dLoss)
    # cannot wrap the cached MNRL: plain MNRL there (notebook 10)
    base_loss = base_loss_for(model, None if args.loss == "2d" else profile.mini_batch_size)
    loss = {
        "matryoshka": lambda: MatryoshkaLoss(model, base_loss, matryoshka_dims=dims),
        "mnrl": lambda: base_loss,
        "2d": lambda: Matryoshka2dLoss(model, base_loss, matryoshka_dims=dims, n_dims_per_step=-1),
    }[args.loss]()
    # 4. the training arguments
    training_args = training_arguments(
        run_dir / "checkpoints" / Path(model_dir).name,
        batch_size=args.batch_size or profile.batch_size,
        learning_rate=args.learning_rate or profile.learning_rate,
        epochs=args.epochs,
        warmup=args.warmup,
        precision=profile.precision,
        query_prompt=profile.query_prompt,
        seed=seed,
        max_steps=args.max_steps,
    )
    training_args.disable_tqdm = True
    if args.save_steps:
        training_args.save_steps = args.save_steps
    # 5. the trainer, and training that resumes
    trainer = SentenceTransformerTrainer(
        model=model,
        args=training_args,
        train_dataset=train_rows,
        loss=loss,
        callbacks=callbacks,
    )
    with checked_run(trainer, profile.model, args.pca_fit_texts) as recipe:
        resume = get_last_checkpoint(training_args.output_dir)
        output = trainer.train(resume_from_checkpoint=resume)
    # 6. save: one copy, written by rank 0
    if trainer.is_world_process_zero():
        with whole_or_nothing(model_dir, model, recipe) as folder:
            model.save_pretrained(folder)
    report = {
        "profile": profile.name,
        "model_dir": str(model_dir),
        "global_step": trainer.state.global_step,
        "training_loss": float(output.training_loss),
        "resumed_from": resume,
        "recipe": recipe,
    }
    if args.evaluate and trainer.is_world_process_zero():
        queries = encode(model, list(dev.queries.values()), prompt=profile.query_prompt)
        table = evaluate_embeddings(
            queries, encode(model, list(dev.corpus.values())), dev, dims, name
        )
        report["mrr@10"] = {
            int(row["dim"]): round(float(row["mrr@10"]), 4) for _, row in table.iterrows()
        }
    return report


if __name__ == "__main__":
    result = main()
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result, default=str))
    sys.exit(0)
