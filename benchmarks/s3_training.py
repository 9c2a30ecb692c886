"""S3: seconds per training step with MatryoshkaLoss vs plain MultipleNegativesRankingLoss.

    python benchmarks/s3_training.py [--steps 6 --batch-size 32]

Two copies of all-MiniLM-L6-v2, one per loss, each with its own AdamW, take turns on the *same*
batches of offline training triplets (step i of one, then step i of the other), so drift on a
shared machine hits both alike. A step is forward, loss, backward and optimizer step, as in the
Trainer. Reports the median seconds per step (min/max), the overhead of MatryoshkaLoss, tokens
per second (non-padding tokens of query, positive and negative), and peak memory of each loss
measured in its own process (GPU: ``max_memory_allocated``; CPU: peak resident set size).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from _common import emit, profile_split, quiet, spread


def batches(batch_size: int, n: int, profile: str, seed: int = 42) -> list[dict[str, list[str]]]:
    rows = profile_split(profile, "train").shuffle(seed=seed)
    return [rows[i * batch_size : (i + 1) * batch_size] for i in range(n)]


def setup(loss_name: str, max_seq_length: int):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import (
        MatryoshkaLoss,
        MultipleNegativesRankingLoss,
    )

    from helpers.evaluation import matryoshka_dims
    from helpers.profiles import PACKAGED_MINILM, model_path

    torch.manual_seed(0)
    model = SentenceTransformer(model_path(PACKAGED_MINILM))
    model.max_seq_length = max_seq_length
    model.train()
    loss = MultipleNegativesRankingLoss(model)  # notebook 05's loss; notebook 02 wraps it:
    if loss_name == "matryoshka":
        loss = MatryoshkaLoss(
            model, loss, matryoshka_dims=matryoshka_dims(model.get_embedding_dimension())
        )
    return model, loss, torch.optim.AdamW(model.parameters(), lr=1e-5)


def features(model, batch: dict[str, list[str]]):
    device = model.device
    return [
        {
            k: v.to(device) if hasattr(v, "to") else v
            for k, v in model.tokenize(batch[column]).items()
        }
        for column in ("query", "positive", "negative")
    ]


def step(model, loss, optimizer, feats) -> float:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    optimizer.zero_grad()
    value = loss(feats, None)
    value.backward()
    optimizer.step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def peak_memory(loss_name: str, batch_size: int, max_seq_length: int, profile: str) -> None:
    """Child process: one loss, three steps, print peak memory in MiB."""
    import torch

    model, loss, optimizer = setup(loss_name, max_seq_length)
    for batch in batches(batch_size, 3, profile):
        step(model, loss, optimizer, features(model, batch))
    if torch.cuda.is_available():
        print(
            json.dumps(
                {"peak_mib": torch.cuda.max_memory_allocated() / 2**20, "kind": "gpu allocated"}
            )
        )
    else:
        print(
            json.dumps(
                {
                    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "kind": "cpu rss",
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--max-seq-length", type=int, default=48, help="the offline recipe's fitted length"
    )
    parser.add_argument(
        "--profile",
        default="offline",
        help="whose training triplets: offline, or smoke (the tests)",
    )
    parser.add_argument("--memory-only", choices=["mnrl", "matryoshka"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet()
    if args.memory_only:
        peak_memory(args.memory_only, args.batch_size, args.max_seq_length, args.profile)
        return

    names = ("mnrl", "matryoshka")
    runs = {name: setup(name, args.max_seq_length) for name in names}
    data = batches(args.batch_size, args.steps + 1, args.profile)
    seconds = {name: [] for name in names}
    tokens = []
    for i, batch in enumerate(data):
        feats = features(runs["mnrl"][0], batch)  # same tokenizer: identical tensors for both
        for name in names if i % 2 == 0 else reversed(names):  # alternate who goes first
            elapsed = step(*runs[name], feats)
            if i > 0:  # step 0 is a warm-up
                seconds[name].append(elapsed)
        if i > 0:
            tokens.append(sum(int(f["attention_mask"].sum()) for f in feats))
    memory = {}
    for name in names:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-only",
                name,
                "--batch-size",
                str(args.batch_size),
                "--max-seq-length",
                str(args.max_seq_length),
                "--profile",
                args.profile,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        memory[name] = json.loads(child.stdout.strip().splitlines()[-1])
    per_step = {name: spread(values) for name, values in seconds.items()}
    pairs = [m / s for m, s in zip(seconds["matryoshka"], seconds["mnrl"], strict=True)]
    overhead = 100 * (per_step["matryoshka"]["median"] / per_step["mnrl"]["median"] - 1)
    emit(
        "s3_training",
        {
            "model": "all-MiniLM-L6-v2",
            **(
                {"profile": args.profile} if args.profile != "offline" else {}
            ),  # the tests' smoke data
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length,
            "timed_steps": args.steps,
            "seconds_per_step": per_step,
            "matryoshka_overhead_%": overhead,
            "paired_ratio": spread(pairs),
            "tokens_per_second": {name: sum(tokens) / sum(seconds[name]) for name in names},
            "peak_memory_mib": memory,
            "targets": {"matryoshka_overhead_%": 3},
            "meets_targets": overhead <= 3,
        },
    )


if __name__ == "__main__":
    main()
