"""The machinery around notebook 02's training and save cells (05's, 10's and the script's too): ``checked_run``
around ``trainer.train``, ``whole_or_nothing`` around ``model.save_pretrained``; notebook 02 says what each does."""

import hashlib
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

from transformers import set_seed
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

from helpers.errors import CourseError, disk_full_error, is_disk_full

MARKER = "started_from_pretrained.json"  # in a recipe's folder: its checkpoints come from a checked run


def recipe_folder(checkpoint_dir: Path, recipe: dict) -> str:
    """``checkpoint_dir/<hash of the recipe>``: a changed knob, loss or model checkpoints (and resumes) elsewhere."""
    digest = hashlib.sha1(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return str(Path(checkpoint_dir) / digest)


def recipe_of(trainer, model_name: str, pca_fit_texts: int) -> dict:
    """The knobs of a training run, read from the trainer (its arguments, model, loss and rows) where they live."""
    args, model, loss, rows = trainer.args, trainer.model, trainer.loss, trainer.train_dataset
    if isinstance(loss, dict):  # one loss per dataset (a DatasetDict): the first names the recipe
        loss, rows = next(iter(loss.values())), next(iter(rows.values()))
    base = getattr(loss, "loss", loss)
    return {
        "model": model_name,
        "batch_size": args.per_device_train_batch_size,
        "learning_rate": args.learning_rate,
        "epochs": args.num_train_epochs,
        "warmup": args.warmup_steps,
        "precision": "auto" if args.bf16 or args.fp16 else "fp32",
        "query_prompt": (args.prompts or {}).get("query"),
        "seed": args.seed,
        "pca_fit_texts": pca_fit_texts,
        "max_steps": args.max_steps,
        "loss": type(loss).__name__,
        "base_loss": type(base).__name__,
        "mini_batch_size": getattr(base, "mini_batch_size", None),
        "matryoshka_dims": list(dims) if (dims := getattr(loss, "matryoshka_dims", None)) else None,
        # the loss's own settings (weights, dims per step, KL weight...): a changed loss line trains afresh
        "loss_config": json.loads(json.dumps(loss.get_config_dict(), default=str)),
        "modules": [type(module).__name__ for module in model],
        "max_seq_length": model.course_train_length,
        "n_train": len(rows),
    }


def models_held_by(loss) -> list:
    """Every model a loss (and the losses inside it) trains: each loss's ``.model``."""
    from sentence_transformers import SentenceTransformer

    held, todo = [], [loss]
    while todo:
        module = todo.pop()
        if isinstance(getattr(module, "model", None), SentenceTransformer):
            held.append(module.model)
        todo += [child for child in module.children() if not isinstance(child, SentenceTransformer)]
    return held


def remove_unusable_checkpoints(folder: Path) -> None:
    """Remove this recipe's checkpoints that were cut off mid-write, or that a run not checked here wrote."""
    others = sorted(p.name for p in folder.parent.glob("*") if p.is_dir() and p != folder)
    if others:
        print(f"Checkpoints of other recipes stay in {folder.parent}: {', '.join(others)}; delete them when done.")
    for checkpoint in sorted(folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*")):
        if not (checkpoint / "trainer_state.json").is_file():  # the trainer writes it last
            print(f"{checkpoint} was cut off while being written: removed, resuming from the one before.")
            shutil.rmtree(checkpoint)
    if not (folder / MARKER).is_file() and any(folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*")):
        print(
            f"The checkpoints in {folder} were written by a run that was not checked to start from the pretrained "
            "model (an earlier version of this course): removed, training starts afresh."
        )
        for stale in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
            shutil.rmtree(stale)


def rows_to_resume(trainer, resume: str | None) -> None:
    """A run already at ``max_steps`` mid-epoch: give the trainer only the rows that run used.

    transformers would resume it with one step more, but not when the rows it is given make an epoch
    that is already over; then only the checkpoint's weights are loaded."""
    args = trainer.args
    if resume and json.loads((Path(resume) / "trainer_state.json").read_text())["global_step"] >= args.max_steps > 0:
        rows = trainer.train_dataset
        trainer.train_dataset = rows.select(
            range(min(len(rows), args.max_steps * args.train_batch_size * args.world_size))
        )


@contextmanager
def checked_run(trainer, model_name: str, pca_fit_texts: int):
    """Around ``trainer.train(resume_from_checkpoint=get_last_checkpoint(args.output_dir))``: yields the recipe."""
    from helpers.run_files import atomic_write

    args, model = trainer.args, trainer.model
    losses = trainer.loss.values() if isinstance(trainer.loss, dict) else [trainer.loss]
    if any(held is not model for loss in losses for held in models_held_by(loss)):
        raise CourseError(
            "The loss was made for an earlier model (the start_model cell ran again after it), so training would "
            "change a model that is no longer `model`; run the cells from the one with `base_loss = ` down to this "
            "one again."
        )
    recipe = recipe_of(trainer, model_name, pca_fit_texts)
    args.course_checkpoint_root = getattr(args, "course_checkpoint_root", args.output_dir)  # as the learner set it
    args.output_dir = recipe_folder(args.course_checkpoint_root, recipe)
    folder = Path(args.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    remove_unusable_checkpoints(folder)
    resume = get_last_checkpoint(str(folder))
    if resume is None and getattr(model, "course_training_started", False):
        raise CourseError(
            "This model was changed by a training run that stopped before its first checkpoint; run the cells "
            "from the one with `model = start_model(` down to this one again (the model, the loss, the arguments)."
        )
    if resume is None and not (folder / MARKER).is_file():
        atomic_write(folder / MARKER, json.dumps({"started_from": "start_model", "checked": "the pieces"}))
    # A fresh trainer seeds, then draws its model card's examples with `random`, but only for a model that has
    # none yet: a training cell run twice would train on other draws (the 2D loss picks its layers with `random`).
    # Measured: issue 31, notebook 10's interrupted-then-rerun model differed from the clean one by 0.013.
    set_seed(args.seed)
    if rows := trainer.eval_dataset or trainer.train_dataset:
        model.model_card_data.set_widget_examples(rows)
    rows_to_resume(trainer, resume)
    model.course_training_started = True
    read_length, model.max_seq_length = (model.max_seq_length, model.course_train_length)  # short texts: fast
    try:
        yield recipe
    except Exception as error:
        if is_disk_full(error):
            raise disk_full_error(folder, "writing a checkpoint") from None
        raise
    finally:
        model.max_seq_length = read_length  # a speed knob, not a property: the model reads as far as before
    model.model_card_data.training_logs = [  # the model card's loss table: the whole run's, also after a resume
        {"Epoch": log["epoch"], "Step": log["step"], "Training Loss": log["loss"]}
        for log in trainer.state.log_history
        if "loss" in log
    ]
    model.course_trained_with = dict(recipe)


@contextmanager
def whole_or_nothing(model_dir: Path, model, recipe: dict):
    """A temporary folder for ``model.save_pretrained``, renamed to ``model_dir`` (with ``recipe.json``) once whole.

    Only for a model trained with ``recipe`` (what is saved may add to it, such as the layers a cut model keeps);
    a save cut off half-way, or stopped by a full disk, leaves the model saved before as it was."""
    trained_with = getattr(model, "course_trained_with", None)
    if trained_with is None or any(recipe.get(key) != value for key, value in trained_with.items()):
        raise CourseError(
            "This model has not been trained with this recipe (a cell above ran again after the training cell), "
            "so saving it would save an untrained model; run the cells from the one with `trainer = "
            "SentenceTransformerTrainer(` down to this one again."
        )
    model.preprocess([""])  # a tokenizer file keeps its last call's truncation: make it the model's own length
    model_dir = Path(model_dir)
    new, old = (model_dir.with_name(f".{model_dir.name}.new"), model_dir.with_name(f".{model_dir.name}.old"))
    shutil.rmtree(new, ignore_errors=True)
    try:
        yield str(new)
        (new / "recipe.json").write_text(json.dumps(recipe, indent=2))
    except BaseException as error:
        shutil.rmtree(new, ignore_errors=True)
        if is_disk_full(error):
            raise disk_full_error(model_dir.parent, "saving the model") from None
        raise
    shutil.rmtree(old, ignore_errors=True)
    if model_dir.exists():
        model_dir.rename(old)
    new.rename(model_dir)
    shutil.rmtree(old, ignore_errors=True)


KNOBS_02 = "model matryoshka_dims batch_size learning_rate epochs warmup max_seq_length".split()
KNOBS_02 += "mini_batch_size precision query_prompt pca_fit_texts seed".split()


def knobs_of_notebook_02(model_dir: Path) -> tuple:
    """Notebook 02's knobs, from the recipe saved beside its model, in its parameters cell's order:

    MODEL, MATRYOSHKA_DIMS, BATCH_SIZE, LEARNING_RATE, EPOCHS, WARMUP, MAX_SEQ_LENGTH (the training
    length it used), MINI_BATCH_SIZE, PRECISION, QUERY_PROMPT, PCA_FIT_TEXTS, SEED."""
    from helpers.run_files import require_saved_model

    folder = Path(require_saved_model(model_dir, "02_matryoshka_finetuning"))
    recipe = json.loads((folder / "recipe.json").read_text())
    return tuple(recipe[name] for name in KNOBS_02)
