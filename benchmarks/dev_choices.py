"""The dev-split evidence behind the course's defaults (issue 12), one JSON line per variant.

    python benchmarks/dev_choices.py pca              # the PCA control: fit size, centring
    python benchmarks/dev_choices.py mrl mrl_rot      # the recipe: with and without the PCA start
    python benchmarks/dev_choices.py mrl_rot_2e-5 mrl_rotc std

Every number is MRR@10 on the offline profile's **dev** split (never test) and, for the record
only, on the out-of-domain benchmark, at 384/256/128/64/32 dims. Training variants reproduce
notebook 02's recipe (MNRL in MatryoshkaLoss, batch 32, one epoch over 4,096 triplets) with one
knob changed. Appends to ``benchmarks/results/dev_choices.jsonl``. About 4 minutes per training
variant on 2 idle cores.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from _common import RESULTS, quiet

DIMS = [384, 256, 128, 64, 32]


def main() -> None:
    quiet()
    os.environ.setdefault("MRL_RUNS_DIR", tempfile.mkdtemp(prefix="dev-choices-"))
    import numpy as np
    import torch
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.modules import Dense
    from sklearn.decomposition import PCA

    from helpers import get_profile, runs_dir
    from helpers.benchmark import load_benchmark, load_ood_benchmark, training_texts
    from helpers.evaluation import encode, evaluate_embeddings
    from helpers.recipe import RECIPE_DEFAULTS, start_model
    from helpers.sources import model_path

    def load_model(name):
        return SentenceTransformer(model_path(name))

    profile = get_profile("offline")
    run_dir = runs_dir(profile)
    splits = load_benchmark(profile, run_dir)
    ood = load_ood_benchmark(profile, run_dir)

    def evaluate(model, label, **extra):
        result = {"label": label, **extra}
        embeddings = {}
        for name, bench in (("dev", splits.dev), ("ood", ood)):
            q, c = encode(model, list(bench.queries.values())), encode(model, list(bench.corpus.values()))
            table = evaluate_embeddings(q, c, bench, DIMS, label)
            result[name] = {int(d): round(float(v), 4) for d, v in zip(table["dim"], table["mrr@10"], strict=True)}
            embeddings[name] = (q, c, bench)
        return result, embeddings

    def log(result):
        print(json.dumps(result), flush=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        with (RESULTS / "dev_choices.jsonl").open("a") as handle:
            handle.write(json.dumps(result) + "\n")

    def pca_variants(model, embeddings, label, fit_sizes, centres):
        for n in fit_sizes:
            fq, fp = training_texts(splits.train, n, seed=42)
            pca = PCA(random_state=0).fit(np.vstack([encode(model, fq), encode(model, fp)]))
            for centre in centres:
                result = {"label": f"{label}_pca", "fit_texts": n, "centre": centre}
                for name, (q, c, bench) in embeddings.items():
                    rotate = pca.transform if centre else (lambda x: x @ pca.components_.T)  # noqa: B023
                    table = evaluate_embeddings(rotate(q), rotate(c), bench, DIMS, "x")
                    result[name] = {
                        int(d): round(float(v), 4) for d, v in zip(table["dim"], table["mrr@10"], strict=True)
                    }
                log(result)

    def train(label, mrl=True, rotate=False, lr=1e-4, weights=None):
        start = time.time()
        model = start_model(profile.model, splits.train, None, 0, None, 42)  # notebook 02's start, rotation below
        if rotate:
            fq, fp = training_texts(splits.train, 12_000, seed=42)
            pca = PCA(random_state=0).fit(np.vstack([encode(model, fq), encode(model, fp)]))
            axes = torch.tensor(pca.components_, dtype=torch.float32)
            bias = torch.tensor(-(pca.components_ @ pca.mean_), dtype=torch.float32) if rotate == "centre" else None
            layer = Dense(
                384,
                384,
                bias=bias is not None,
                activation_function=torch.nn.Identity(),
                init_weight=axes,
                init_bias=bias,
            )
            model.insert(len(model) - 1, layer)
        base = MultipleNegativesRankingLoss(model)
        loss = MatryoshkaLoss(model, base, matryoshka_dims=DIMS, matryoshka_weights=weights) if mrl else base
        args = SentenceTransformerTrainingArguments(
            output_dir=tempfile.mkdtemp(),
            num_train_epochs=1,
            per_device_train_batch_size=RECIPE_DEFAULTS["offline"]["batch_size"],
            learning_rate=lr,
            warmup_steps=0.1,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            save_strategy="no",
            seed=42,
            data_seed=42,
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
        )
        SentenceTransformerTrainer(model=model, args=args, train_dataset=splits.train, loss=loss).train()
        result, embeddings = evaluate(
            model, label, mrl=mrl, rotate=rotate, lr=lr, weights=weights, train_s=round(time.time() - start)
        )
        log(result)
        return model, embeddings

    variants = {
        "mrl": lambda: train("mrl"),
        "mrl_rot": lambda: train("mrl_rot", rotate=True),
        "mrl_rotc": lambda: train("mrl_rotc", rotate="centre"),
        "mrl_rot_2e-5": lambda: train("mrl_rot_2e-5", rotate=True, lr=2e-5),
        "mrl_rot_w": lambda: train("mrl_rot_w", rotate=True, weights=[1, 1, 1, 2, 2]),
        "std": lambda: train("std", mrl=False),
    }
    for name in sys.argv[1:]:
        if name == "pca":
            model = load_model(profile.model)
            result, embeddings = evaluate(model, "baseline")
            log(result)
            pca_variants(model, embeddings, "baseline", fit_sizes=(1024, 4096, 12_000), centres=(False, True))
        else:
            variants[name]()


if __name__ == "__main__":
    main()
