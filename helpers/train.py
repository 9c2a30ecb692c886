"""Command-line training: notebook 02's recipe, through the same helpers, on one device or many.

    python -m helpers.train --profile offline
    accelerate launch -m helpers.train --profile full          # every visible GPU
    torchrun --nproc_per_node 4 -m helpers.train --profile full

The profile picks model, data and sizes exactly as in the notebooks; flags override single knobs.
The model lands where notebook 02 saves it (``runs/<profile>/models/matryoshka``), so notebooks
03-07 evaluate it unchanged. Under several processes each GPU takes ``--batch-size`` rows per
step, the in-batch negatives are gathered across GPUs, and only rank 0 writes the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from helpers.profiles import PROFILES, get_profile, runs_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=list(PROFILES), help="default: MRL_PROFILE, else offline/full")
    parser.add_argument(
        "--loss",
        choices=["matryoshka", "mnrl"],
        default="matryoshka",
        help="MatryoshkaLoss over MNRL (notebook 02) or plain MNRL (notebook 05's control)",
    )
    parser.add_argument(
        "--dims", type=int, nargs="+", help="Matryoshka dims, descending (default: full + 4 powers of 2)"
    )
    parser.add_argument("--batch-size", type=int, help="rows per step per device")
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--epochs", type=int)
    parser.add_argument(
        "--max-steps", type=int, default=-1, help="stop after this many steps (-1: full epochs)"
    )
    parser.add_argument("--max-seq-length", type=int, help="default: fitted to the data's token lengths")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--output", type=Path, help="model folder (default: runs/<profile>/models/<loss name>)"
    )
    parser.add_argument(
        "--evaluate", action="store_true", help="print MRR@10 per dim on the benchmark afterwards"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from helpers.data import load_benchmark
    from helpers.evaluation import evaluate_model
    from helpers.models import load_model, matryoshka_dims
    from helpers.training import profile_recipe, train

    knobs = ("batch_size", "learning_rate", "epochs", "max_seq_length", "seed")
    overrides = {knob: getattr(args, knob) for knob in knobs if getattr(args, knob) is not None}
    profile = replace(get_profile(args.profile), **overrides)
    run_dir = runs_dir(profile)
    name = "matryoshka" if args.loss == "matryoshka" else "standard"
    model_dir = args.output or run_dir / "models" / name
    train_rows, bench = load_benchmark(profile, run_dir)
    model = load_model(profile.model)
    recipe = profile_recipe(profile, model, train_rows, args.loss == "matryoshka", args.dims, args.max_steps)
    result = train(model, train_rows, model_dir, recipe, run_dir / "checkpoints" / Path(model_dir).name)
    report = {
        "profile": profile.name,
        "model_dir": str(result.model_dir),
        "global_step": result.global_step,
        "seconds": round(result.seconds, 2),
        "training_loss": result.training_loss,
        "resumed_from": result.resumed_from,
        "recipe": asdict(recipe),
    }
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
        return 0
    if args.evaluate:
        dims = list(recipe.matryoshka_dims or matryoshka_dims(model.get_embedding_dimension()))
        table, _, _ = evaluate_model(model, bench, dims, name, query_prompt=profile.query_prompt)
        report["mrr@10"] = {int(row["dim"]): round(float(row["mrr@10"]), 4) for _, row in table.iterrows()}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
