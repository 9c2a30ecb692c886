"""The machinery around notebook 02's training cell: which checkpoint to resume, and pieces that belong together.

A loss holds the model it was made with, and the training arguments name a checkpoint folder after the
model and loss they were made for; run one cell again without the cells after it, and the pieces no
longer fit. These functions check them, and the checkpoints, before a step is trained.
"""

import hashlib
import json
import shutil
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from helpers.errors import CourseError, disk_full_error, is_disk_full

MARKER = "started_from_pretrained.json"  # in a recipe's folder: its checkpoints come from a checked run


def model_and_loss(model, loss) -> dict[str, object]:
    """What the recipe records of the model and the loss: its modules, training length, loss and sizes."""
    return {
        "loss": type(loss).__name__,
        "base_loss": type(getattr(loss, "loss", loss)).__name__,
        "matryoshka_dims": getattr(loss, "matryoshka_dims", None),
        "modules": [type(module).__name__ for module in model],
        "max_seq_length": getattr(model, "course_train_length", model.max_seq_length),
    }


def recipe_folder(checkpoint_dir: Path, recipe: dict) -> str:
    """``checkpoint_dir/<hash of the recipe>``: a changed knob, loss or model checkpoints (and resumes) elsewhere."""
    return str(
        Path(checkpoint_dir) / hashlib.sha1(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:10]
    )


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


def require_pieces_together(model, loss, args, recipe: dict) -> None:
    """Stop with the cells to run when the loss or the arguments were made for a model that has since been replaced."""
    losses = list(loss.values()) if isinstance(loss, dict) else [loss]  # a dict: one loss per dataset
    if any(held is not model for one in losses for held in models_held_by(one)):
        raise CourseError(
            "The loss was made for an earlier model (the start_model cell ran again after it), so training would "
            "change a model that is no longer `model`; run the cells from the one with `base_loss = ` down to this "
            "one again."
        )
    made_for = {key: recipe.get(key) for key in model_and_loss(model, losses[0])}
    fits = any(made_for == model_and_loss(model, one) for one in losses)
    if not fits or Path(args.output_dir).name != Path(recipe_folder("", recipe)).name:
        raise CourseError(
            "The training arguments were made for another model or loss (a cell above ran again after them); run "
            "the cells from the one with `args, recipe = ` down to this one again."
        )


def remove_unusable_checkpoints(output_dir: str) -> None:
    """Remove this recipe's checkpoints that were cut off mid-write, or that a run not checked here wrote."""
    folder = Path(output_dir)
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


def check_and_mark_run_start(model, output_dir: str, resume: str | None) -> None:
    """Refuse to start afresh from a model a stopped run changed; mark a fresh start's folder as a checked run's."""
    from helpers.results import atomic_write

    if resume is None and getattr(model, "course_training_started", False):
        raise CourseError(
            "This model was changed by a training run that stopped before its first checkpoint; run the cells "
            "from the one with `model = start_model(` down to this one again (the model, the loss, the arguments)."
        )
    if resume is None and not (Path(output_dir) / MARKER).is_file():
        atomic_write(Path(output_dir) / MARKER, json.dumps({"started_from": "start_model", "checked": "the pieces"}))
    model.course_training_started = True


def rows_to_resume(train_rows, args, resume: str | None):
    """The rows to give the trainer: all, except for a run already at ``max_steps`` mid-epoch.

    transformers would resume such a run with one step more, but not when the rows it is given make an
    epoch that is already over; then only the checkpoint's weights are loaded."""
    if resume and json.loads((Path(resume) / "trainer_state.json").read_text())["global_step"] >= args.max_steps > 0:
        return train_rows.select(range(min(len(train_rows), args.max_steps * args.train_batch_size * args.world_size)))
    return train_rows


def mark_trained(model, recipe: dict) -> None:
    """Note on the model that a training run of ``recipe`` finished: ``save`` asks for it."""
    model.course_trained_with = dict(recipe)


def ready_to_save(model, recipe: dict) -> None:
    """Stop with the cells to run unless ``model`` finished training with ``recipe`` (and was not replaced since).

    Then one tokenizer call at the model's own length: a tokenizer file keeps its last call's truncation, which
    would otherwise be the training length or whatever ran last (the same model, saved files that differ)."""
    trained_with = getattr(model, "course_trained_with", None)  # what is saved may add to it (layers kept)
    if trained_with is None or any(recipe.get(key) != value for key, value in trained_with.items()):
        raise CourseError(
            "This model has not been trained with this recipe (a cell above ran again after the training cell), "
            "so saving it would save an untrained model; run the cells from the one with `trainer, output, resume "
            "= train(` down to this one again."
        )
    model.preprocess([""])


def stop_if_disk_full(error: BaseException, folder: Path, doing: str) -> None:
    """Re-raise a full disk as one sentence (folder, free space, what to do); other errors go on as they are."""
    if is_disk_full(error):
        raise disk_full_error(folder, doing) from None
