"""Tune the offline recipe: train one variant, evaluate 64-d and full-size MRR@10 along the way.

    python benchmarks/tune_offline.py --learning-rate 2e-4 --batch-size 32

Trains notebook 02's recipe (the offline profile's values, with the flags overriding), keeps a
checkpoint at each of ``--points`` evenly spaced steps, and evaluates every checkpoint on the
offline profile's **dev** split (choices are never made on test): the curve of MRR@10 against
training minutes. ``--no-pca-init`` trains without notebook 02's PCA start. Each variant is appended as
one JSON line to ``benchmarks/results/tune_offline.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _common import RESULTS, machine, quiet

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--warmup", type=float)
    parser.add_argument("--max-seq-length", type=int)
    parser.add_argument("--pca-init", action=argparse.BooleanOptionalAction)
    parser.add_argument("--points", type=int, default=2, help="checkpoints evaluated along the run")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    quiet()

    import importlib.util
    import os

    from sentence_transformers import SentenceTransformer

    from helpers.benchmark import load_benchmark
    from helpers.evaluation import encode, evaluate_embeddings
    from helpers.profiles import PROFILES
    from helpers.recipe import RECIPE_DEFAULTS

    # notebook 02's recipe, through the flat script that calls notebook 02's own functions
    if args.n_train:
        PROFILES["offline"] = replace(PROFILES["offline"], n_train=args.n_train)
    profile = PROFILES["offline"]
    flags = {"--batch-size": args.batch_size, "--learning-rate": args.learning_rate, "--epochs": args.epochs,
             "--warmup": args.warmup, "--max-seq-length": args.max_seq_length}  # fmt: skip
    argv = [str(x) for flag, value in flags.items() if value is not None for x in (flag, value)]
    if args.pca_init is False:
        argv += ["--pca-fit-texts", "0"]
    work = Path(tempfile.mkdtemp(prefix="tune-"))
    os.environ["MRL_RUNS_DIR"] = str(work)
    train_rows, dev, _ = load_benchmark(profile, work / "offline")
    full = 384
    batch_size = args.batch_size or RECIPE_DEFAULTS["offline"]["batch_size"]
    steps = math.ceil(len(train_rows) / batch_size) * (args.epochs or 1)
    every = max(1, steps // args.points)
    spec = importlib.util.spec_from_file_location("train_matryoshka", ROOT / "scripts" / "train_matryoshka.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    start = time.perf_counter()
    report = script.main(["--profile", "offline", "--save-steps", str(every), *argv])
    seconds = time.perf_counter() - start
    global_step = report["global_step"]
    ckpt_dir = next((work / "offline" / "checkpoints" / "matryoshka").iterdir())  # the recipe's folder
    curve = []
    for checkpoint in sorted(ckpt_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])):
        step = int(checkpoint.name.split("-")[1])
        start = time.perf_counter()
        model = SentenceTransformer(str(checkpoint))
        queries, corpus = encode(model, list(dev.queries.values())), encode(model, list(dev.corpus.values()))
        table = evaluate_embeddings(queries, corpus, dev, [full, 64], "tune")
        mrr = dict(zip(table["dim"], table["mrr@10"], strict=True))
        curve.append(
            {
                "step": step,
                "train_minutes": round(seconds / 60 * step / global_step, 2),
                "mrr@10_full": round(float(mrr[full]), 4),
                "mrr@10_64": round(float(mrr[64]), 4),
                "retention_64_%": round(100 * float(mrr[64] / mrr[full]), 1),
                "eval_seconds": round(time.perf_counter() - start, 1),
            }
        )
    line = {
        "label": args.label,
        "dev_fingerprint": dev.fingerprint(),
        "recipe": report["recipe"],
        "steps": global_step,
        "train_seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / global_step, 2),
        "curve": curve,
        "machine": machine(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "tune_offline.jsonl").open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    print(json.dumps(line))


if __name__ == "__main__":
    main()
