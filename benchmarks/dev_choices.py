"""The dev-split evidence behind the course's recipe defaults: notebook 02's recipe with one lever changed.

    python benchmarks/dev_choices.py --list                   # the variants and what each changes
    python benchmarks/dev_choices.py default batch_64 ...     # train and score each on dev, one JSON line each
    python benchmarks/dev_choices.py --report                 # the table of every variant against the default
    python benchmarks/dev_choices.py pca                      # the PCA control: fit size, centring (no training)
    python benchmarks/dev_choices.py --split test default batch_64 ...   # once, after choosing: does it hold on test?

Every training variant calls notebook 02's own recipe functions (``helpers.recipe``: ``start_model``,
``base_loss_for``, ``training_arguments``, ``train``) with the offline profile's values and exactly one
lever changed: the batch size, the training-set size, the epochs, ``matryoshka_weights``,
``n_dims_per_step``, the seed (training noise), or a distillation loss. Each model is scored on the
offline profile's **dev** split only (300 queries, the 10,000-passage corpus; never test, never out of
domain) at 384/256/128/64/32 dims, and compared with ``default`` query by query: mean difference in
MRR@10 with a 95% paired-bootstrap interval (``helpers.evaluation.paired_differences``, the course's own).
Per-query scores are kept in the JSON line, so every interval can be recomputed from the file.
Appends to ``benchmarks/results/dev_recipe.jsonl``; the TREC run files stay in ``runs/dev_choices/``
(not committed). About 4 minutes per variant on 2 idle cores at notebook 02's size; a variant with twice
the steps, twice that.

``default`` is the recipe the study started from (offline: batch 32), not whatever notebook 02 adopted
afterwards (batch 64, the study's winner), so every line in the file is compared with the same model.

``--split test`` is the confirmation, run once after the choice was made: the adopted lever and the default
it replaced, scored on **test** instead of dev (lines in ``benchmarks/results/dev_recipe_test.jsonl``, never
read by any choice). A lever that won on dev can still be noise on test; docs/results.md reports which.

Earlier choices (the PCA start, the learning rate, the PCA control's fit size) were made on dev by an
earlier version of this script; its lines are in ``benchmarks/results/dev_choices.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _common import RESULTS, quiet

ROOT = Path(__file__).resolve().parent.parent
OUT = RESULTS / "dev_recipe.jsonl"
DIMS = [384, 256, 128, 64, 32]

# name -> the one lever it changes from notebook 02's offline recipe as the study found it (batch 32, 4,096 triplets,
# 1 epoch, lr 1e-4, MatryoshkaLoss over MNRL with every size weighted 1 at every step, PCA start on 12,000 texts,
# seed 42)
STUDY_START = {
    "offline": {"batch_size": 32}
}  # notebook 02 has trained at batch 64 since the study chose it
VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "pretrained": {
        "train": False
    },  # not a lever: the model before any step, whose full size a 64-d prefix is held to
    "seed_43": {"seed": 43},  # not a lever: how far a second seed moves the same recipe
    "seed_44": {"seed": 44},
    "batch_16": {"batch_size": 16},
    "batch_64": {"batch_size": 64},
    "batch_128": {"batch_size": 128},
    "train_8192": {"n_train": 8192},  # twice the triplets, twice the steps
    "train_16384": {"n_train": 16384},
    "epochs_2": {"epochs": 2},  # the same 4,096 triplets twice: the compute of train_8192
    "weights_1-1-1-2-2": {"matryoshka_weights": [1, 1, 1, 2, 2]},  # 64 and 32 dims count twice
    "weights_1-1-2-4-4": {"matryoshka_weights": [1, 1, 2, 4, 4]},
    "dims_per_step_1": {"n_dims_per_step": 1},  # one size drawn at random per step
    "dims_per_step_2": {"n_dims_per_step": 2},
    # distillation: the pretrained model's full-size similarities (the start model's: the PCA rotation keeps
    # cosines) as the teacher of every prefix, through MarginMSELoss inside MatryoshkaLoss
    "distill_only": {"distill": "replace"},  # instead of MNRL
    "distill_added": {
        "distill": "add"
    },  # beside MNRL: a second dataset and loss, so twice the steps
    # the two levers that won within the same compute, together, and at a second seed
    "batch_64_weights_1-1-2-4-4": {"batch_size": 64, "matryoshka_weights": [1, 1, 2, 4, 4]},
    "batch_64_weights_1-1-2-4-4_seed_43": {
        "batch_size": 64,
        "matryoshka_weights": [1, 1, 2, 4, 4],
        "seed": 43,
    },
    "batch_64_seed_43": {"batch_size": 64, "seed": 43},
    "batch_64_seed_44": {"batch_size": 64, "seed": 44},
    "weights_1-1-2-4-4_seed_43": {"matryoshka_weights": [1, 1, 2, 4, 4], "seed": 43},
    "weights_1-1-2-4-4_seed_44": {"matryoshka_weights": [1, 1, 2, 4, 4], "seed": 44},
    "train_16384_seed_43": {"n_train": 16384, "seed": 43},
    "pca_start_4096": {
        "pca_fit_texts": 4096
    },  # a rotation fitted on a third of the texts: 2/3 less encoding
    "no_pca_start": {"pca_fit_texts": 0},  # earlier choices, re-measurable here
    "lr_2e-5": {"learning_rate": 2e-5},
}


def results_file(split: str) -> Path:
    """The study's lines: dev (the choices) or test (the one confirmation afterwards)."""
    return OUT if split == "dev" else RESULTS / f"dev_recipe_{split}.jsonl"


def trec_dir(profile_name: str, split: str = "dev") -> Path:
    """Every variant's TREC files (not committed), which the paired differences are computed from."""
    return Path(os.environ["MRL_RUNS_DIR"]) / "dev_choices" / profile_name / split


def run_variant(
    name: str, changes: dict[str, object], profile_name: str = "offline", split: str = "dev"
) -> dict:
    """Train notebook 02's recipe for the profile with ``changes``, score it on ``split``, compare with ``default``."""
    import numpy as np
    from datasets import DatasetDict
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss, MatryoshkaLoss

    from course_data.splits import load_benchmark
    from helpers import get_profile, runs_dir
    from helpers.evaluation import encode
    from helpers.profiles import model_path
    from helpers.recipe import base_loss_for, start_model, training_arguments
    from helpers.training import checked_run

    start = time.time()
    profile = get_profile(profile_name)
    profile = replace(
        profile, n_train=changes.get("n_train", profile.n_train)
    )  # a size: the split is unchanged
    trec = trec_dir(profile_name, split)
    defaults = {k: getattr(profile, k) for k in ("batch_size", "learning_rate", "mini_batch_size")}
    knobs = {
        **defaults,
        "precision": profile.precision,
        **STUDY_START.get(profile_name, {}),
        "epochs": 1,
        "warmup": 0.1,
        "pca_fit_texts": 12_000,
        "seed": 42,
        **{
            k: v
            for k, v in changes.items()
            if k in ("batch_size", "learning_rate", "epochs", "pca_fit_texts", "seed")
        },
    }
    scratch = Path(tempfile.mkdtemp(prefix="dev-choices-"))
    try:
        folder = runs_dir(replace(profile, name=f"dev_choices/{profile_name}_{profile.n_train}"))
        train_rows, dev, test = load_benchmark(profile, folder)
        scored = {"dev": dev, "test": test}[split]
        if changes.get("train") is False:
            return score_only(
                name,
                changes,
                SentenceTransformer(model_path(profile.model)),
                scored,
                trec,
                split,
                profile_name,
                start,
            )
        model = start_model(
            profile.model, train_rows, None, knobs["pca_fit_texts"], None, knobs["seed"]
        )
        base_loss = base_loss_for(model, knobs["mini_batch_size"])
        matryoshka = {
            k: changes[k] for k in ("matryoshka_weights", "n_dims_per_step") if k in changes
        }
        loss = MatryoshkaLoss(
            model, base_loss, matryoshka_dims=DIMS, **matryoshka
        )  # notebook 02's loss line
        rows = train_rows
        if (
            "distill" in changes
        ):  # the teacher: the start model's full-size cosine margins, before any step
            q, p, n = (encode(model, train_rows[c]) for c in ("query", "positive", "negative"))
            margins = np.sum(q * p, axis=1) - np.sum(
                q * n, axis=1
            )  # unit vectors: dot products are cosines
            distill = MatryoshkaLoss(model, MarginMSELoss(model), matryoshka_dims=DIMS)
            labelled = train_rows.add_column("label", margins.astype(float).tolist())
            if changes["distill"] == "replace":
                rows, loss = labelled, distill
            else:
                rows, loss = (
                    DatasetDict(mnrl=train_rows, distill=labelled),
                    {"mnrl": loss, "distill": distill},
                )
        args = training_arguments(
            scratch,
            batch_size=knobs["batch_size"],
            learning_rate=knobs["learning_rate"],
            epochs=knobs["epochs"],
            warmup=knobs["warmup"],
            precision=knobs["precision"],
            query_prompt=None,
            seed=knobs["seed"],
        )
        args.disable_tqdm, args.save_strategy = True, "no"  # no checkpoints: trained once
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=rows, loss=loss)
        with checked_run(trainer, profile.model, knobs["pca_fit_texts"]) as recipe:
            output = trainer.train()
        train_s = time.time() - start
        scores = score(model, scored, name, trec, split)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = {
        "variant": name,
        "changes": changes,
        "steps": trainer.state.global_step,
        "train_s": round(train_s),
        "s_per_step": round(output.metrics["train_runtime"] / trainer.state.global_step, 3),
        **scores,
        "recipe": {k: v for k, v in recipe.items() if k not in ("checkpoint_dir",)},
        "profile": profile_name,
    }
    return with_differences(result, trec)


def score(model, scored, name: str, trec: Path, split: str) -> dict[str, object]:
    """MRR@10 on ``split`` at every size (TREC files written to ``trec``) and the per-query scores behind it."""
    from helpers.evaluation import encode, evaluate_embeddings, per_query_from_trec

    queries, corpus = (
        encode(model, list(scored.queries.values())),
        encode(model, list(scored.corpus.values())),
    )
    table = evaluate_embeddings(queries, corpus, scored, DIMS, name, out_dir=trec).set_index("dim")
    return {
        split: {int(d): round(float(v), 4) for d, v in table["mrr@10"].items()},
        "per_query": {d: per_query_from_trec(trec, name, d).round(4).tolist() for d in DIMS},
    }


def score_only(name, changes, model, scored, trec, split, profile_name, start) -> dict[str, object]:
    """A model scored as it is, with no training step: the pretrained reference row."""
    scores = score(model, scored, name, trec, split)
    result = {
        "variant": name,
        "changes": changes,
        "steps": 0,
        "train_s": 0,
        "score_s": round(time.time() - start),
        **scores,
        "recipe": {},
        "profile": profile_name,
    }
    return with_differences(result, trec)


def with_differences(result: dict, trec: Path) -> dict:
    """Add the paired differences from ``default`` at each size, when ``default`` has been scored."""
    from helpers.intervals import paired_differences

    name = result["variant"]
    if name != "default" and (trec / "run_default_dim384.txt").is_file():
        diff = paired_differences(trec, [(name, d, "default", d) for d in DIMS])
        result["vs_default"] = {
            int(r.dim): [round(r.diff, 4), round(r.ci_low, 4), round(r.ci_high, 4)]
            for r in diff.itertuples()
        }
    return result


def mean_difference_ci(x, y) -> tuple[float, float]:
    """95% paired-bootstrap interval of mean(x - y) over queries, from the per-query scores in the JSON lines
    (``helpers.evaluation.paired_differences`` does the same from TREC files, which are not committed)."""
    import numpy as np
    from scipy.stats import bootstrap

    ci = bootstrap(
        (x, y),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=10_000,
        rng=np.random.default_rng(0),
    ).confidence_interval
    return ci.low, ci.high


def vs_pretrained_full(line: dict, latest: dict[str, dict], dim: str = "64") -> str:
    """The variant's ``dim`` prefix minus the pretrained model at full size, query by query, 95% interval."""
    import numpy as np

    if "pretrained" not in latest or line["variant"] == "pretrained":
        return ""
    x, y = (
        np.array(line["per_query"][dim]),
        np.array(latest["pretrained"]["per_query"][str(max(DIMS))]),
    )
    low, high = mean_difference_ci(x, y)
    return f"{x.mean() - y.mean():+.3f} ({low:+.3f} to {high:+.3f})"


def pca_variants() -> None:
    """The PCA control on the pretrained model: fit size and centring (issue 12's evidence), appended as before."""
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sklearn.decomposition import PCA

    from course_data.splits import load_benchmark, training_texts
    from helpers import get_profile, runs_dir
    from helpers.evaluation import encode, evaluate_embeddings
    from helpers.profiles import model_path

    profile = get_profile("offline")
    splits = load_benchmark(profile, runs_dir(replace(profile, name="dev_choices/offline_4096")))
    model = SentenceTransformer(model_path(profile.model))
    q, c = (
        encode(model, list(splits.dev.queries.values())),
        encode(model, list(splits.dev.corpus.values())),
    )
    for n in (1024, 4096, 12_000):
        fq, fp = training_texts(splits.train, n, seed=42)
        pca = PCA(random_state=0).fit(np.vstack([encode(model, fq), encode(model, fp)]))
        for centre in (False, True):
            rotate = pca.transform if centre else (lambda x: x @ pca.components_.T)  # noqa: B023
            table = evaluate_embeddings(rotate(q), rotate(c), splits.dev, DIMS, "x")
            line = {
                "label": "baseline_pca",
                "fit_texts": n,
                "centre": centre,
                "dev": {
                    int(d): round(float(v), 4)
                    for d, v in zip(table["dim"], table["mrr@10"], strict=True)
                },
            }
            with (RESULTS / "dev_choices.jsonl").open("a") as handle:
                handle.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)


SEEDS = {
    "default": "default",
    "seed_43": "default",
    "seed_44": "default",
}  # variant -> the lever it repeats
SEEDS |= {
    f"{lever}{tail}": lever
    for lever in ("batch_64", "weights_1-1-2-4-4", "batch_64_weights_1-1-2-4-4", "train_16384")
    for tail in ("", "_seed_43", "_seed_44")
}


def seed_averaged(latest: dict[str, dict], split: str = "dev") -> list[list[str]]:
    """Rows for the levers trained at several seeds: per-query scores averaged over the seeds both have, the
    lever minus the default, with a 95% paired-bootstrap interval over queries (training noise averaged down)."""
    import numpy as np

    runs: dict[str, dict[int, dict]] = {}
    for name, line in latest.items():
        if name in SEEDS:
            runs.setdefault(SEEDS[name], {})[line["recipe"]["seed"]] = line
    rows = []
    for lever, by_seed in runs.items():
        seeds = sorted(set(by_seed) & set(runs["default"]))
        if lever == "default" or len(seeds) < 2:
            continue
        cells = []
        for d in ("384", "64", "32"):
            x, y = (
                np.mean([runs[k][s]["per_query"][d] for s in seeds], axis=0)
                for k in (lever, "default")
            )
            low, high = mean_difference_ci(x, y)
            cells.append(
                f"{x.mean():.3f} vs {y.mean():.3f}: {x.mean() - y.mean():+.3f} ({low:+.3f} to {high:+.3f})"
            )
        rows.append([lever, ", ".join(map(str, seeds)), *cells])
    return rows


def report(split: str = "dev") -> str:
    """A markdown table: each variant's MRR@10 on ``split`` and its difference from ``default`` with the interval."""
    lines = [
        json.loads(line) for line in results_file(split).read_text().splitlines() if line.strip()
    ]
    latest = {line["variant"]: line for line in lines}  # a variant run again: its newest line
    header = [
        "variant",
        "steps",
        "train min",
        *(f"{split} {d}" for d in DIMS),
        "vs default at 64 (95% CI)",
        "vs default at 32 (95% CI)",
        "64 dims vs pretrained at 384 (95% CI)",
    ]
    rows = []
    for name in [v for v in VARIANTS if v in latest] + [v for v in latest if v not in VARIANTS]:
        line = latest[name]
        vs = line.get("vs_default", {})
        cells = [
            "" if str(d) not in vs else "{:+.3f} ({:+.3f} to {:+.3f})".format(*vs[str(d)])
            for d in (64, 32)
        ]
        rows.append(
            [
                name,
                str(line["steps"]),
                f"{line['train_s'] / 60:.1f}",
                *(f"{line[split][str(d)]:.3f}" for d in DIMS),
                *cells,
                vs_pretrained_full(line, latest),
            ]
        )
    averaged = [
        "lever",
        "seeds",
        *(f"{split} {d}: lever vs default, mean over seeds (95% CI)" for d in (384, 64, 32)),
    ]

    def markdown(head, body):
        return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
            "| " + " | ".join(r) + " |" for r in body
        ]

    return "\n".join(
        [*markdown(header, rows), "", *markdown(averaged, seed_averaged(latest, split))]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help=f"any of {', '.join(VARIANTS)}, or pca")
    parser.add_argument(
        "--list", action="store_true", help="print the variants and what each changes"
    )
    parser.add_argument(
        "--report", action="store_true", help="print the table of results against default"
    )
    parser.add_argument(
        "--profile", default="offline", help="smoke: the tests' tiny run of the same code"
    )
    parser.add_argument(
        "--split",
        default="dev",
        choices=["dev", "test"],
        help="test: the confirmation, once the choice is made on dev",
    )
    args = parser.parse_args()
    quiet()
    if args.list:
        print(
            "\n".join(
                f"{name}: {changes or 'notebook 02 offline recipe'}"
                for name, changes in VARIANTS.items()
            )
        )
    if args.report:
        print(report(args.split))
    unknown = [v for v in args.variants if v not in VARIANTS and v != "pca"]
    if unknown:
        sys.exit(f"unknown variant(s) {unknown}; --list shows them")
    os.environ.setdefault("MRL_RUNS_DIR", str(ROOT / "runs"))
    for name in args.variants:
        if name == "pca":
            pca_variants()
            continue
        result = run_variant(name, VARIANTS[name], args.profile, args.split)
        RESULTS.mkdir(parents=True, exist_ok=True)
        with results_file(args.split).open("a") as handle:
            handle.write(json.dumps(result) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "per_query"}), flush=True)


if __name__ == "__main__":
    main()
