"""Objects that outlive the cell that made them: a loss holds its model, the arguments name their folder after it.

Each case drives a notebook's kernel cell by cell, as a careless learner would (issue 30): run the cells up
to training, interrupt the training cell before its first checkpoint, run it again, do what the sentences
say (first the advice an earlier version gave: the start_model cell, then the training cell), train, save.
The saved model must be the clean run's (tests/test_rerun.py's, same embeddings) and not the pretrained one.
Cells are found by what they define or call, never by their index.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient.exceptions import CellExecutionError
from notebook_cells import ADVICE, kernel
from safetensors.numpy import load_file
from sentence_transformers import SentenceTransformer

from helpers.profiles import PACKAGED_MINILM, model_path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "a handsaw with a thin blade",
    "what is a small boat used for fishing",
    "a large body of water",
]
INTERRUPT_AT_STEP_2 = """
from sentence_transformers import SentenceTransformerTrainer as _Trainer
_step = _Trainer.training_step
def _interrupted(self, *args, **kwargs):  # Kernel > Interrupt while step 3 runs: before the first checkpoint
    if self.state.global_step == 2:
        _Trainer.training_step = _step
        raise KeyboardInterrupt
    return _step(self, *args, **kwargs)
_Trainer.training_step = _interrupted
"""


def cell_that(code: dict[int, nbformat.NotebookNode], pattern: str) -> int:
    """The one code cell whose source matches ``pattern`` (a regular expression)."""
    found = [i for i, cell in code.items() if re.search(pattern, cell.source, re.MULTILINE)]
    assert len(found) == 1, f"{pattern!r} matches cells {found}"
    return found[0]


def error_of(client, code, index) -> tuple[str, str] | None:
    try:
        client.execute_cell(code[index], index)
    except CellExecutionError as error:
        return error.ename, error.evalue
    return None


def follow(client, code, index, evalue: str) -> None:
    """Do what the sentence says: run the cells from the one it names down to ``index``."""
    advice = ADVICE.search(evalue)
    assert advice and "\n" not in evalue.strip(), evalue
    start = next(i for i, cell in code.items() if advice[1] in cell.source)
    for i in (i for i in code if start <= i <= index):
        assert error_of(client, code, i) is None, f"cell {i} failed after following {evalue!r}"


@pytest.mark.parametrize(
    ("number", "saved"),
    [("02", "matryoshka"), ("05", "standard"), ("10", "matryoshka_2d")],
    ids=["02-recipe", "05-control", "10-2d"],
)
def test_interrupt_before_the_first_checkpoint_then_do_what_the_sentences_say(
    number, saved, notebook_runs, tmp_path, monkeypatch
):
    clean = notebook_runs / "smoke" / "models" / saved
    if not (clean / "recipe.json").is_file():
        pytest.skip("needs the runs of tests/test_rerun.py")
    runs = (
        tmp_path / "runs"
    )  # the clean run's files, but none of its checkpoints: this run trains afresh
    shutil.copytree(
        notebook_runs / "smoke",
        runs / "smoke",
        ignore=shutil.ignore_patterns("checkpoints", "notebooks"),
    )
    shutil.rmtree(runs / "smoke" / "models" / saved)
    monkeypatch.setenv("MRL_PROFILE", "smoke")
    monkeypatch.setenv("MRL_RUNS_DIR", str(runs))
    path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(INTERRUPT_AT_STEP_2))
    code = {i: cell for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    model_cell, train_cell = (
        cell_that(code, r"^model = start_model\("),
        cell_that(code, r"^trainer = SentenceTransformerTrainer\("),
    )
    save_cell = cell_that(code, r"^with whole_or_nothing\(MODEL_DIR, model, recipe\)")
    work = tmp_path / "work"
    work.mkdir()
    with kernel(nb, work) as client:
        for index in (i for i in code if i < train_cell):
            assert error_of(client, code, index) is None, f"cell {index} failed"
        client.execute_cell(code[len(nb.cells) - 1], len(nb.cells) - 1)
        assert error_of(client, code, train_cell)[0] == "KeyboardInterrupt"
        assert not list((runs / "smoke" / "checkpoints").rglob("checkpoint-*")), (
            "a checkpoint came before step 3"
        )
        ename, evalue = error_of(client, code, train_cell)  # run the training cell again
        assert ename == "CourseError" and "stopped before its first checkpoint" in evalue, evalue
        # the advice of the course's earlier version, followed: the start_model cell, then the training cell
        assert error_of(client, code, model_cell) is None
        ename, evalue = error_of(client, code, train_cell)
        assert ename == "CourseError" and "The loss was made for an earlier model" in evalue, evalue
        follow(
            client, code, train_cell, evalue
        )  # the sentence's advice: the cells from the loss on
        for index in (i for i in code if train_cell < i <= save_cell):  # then on, down to the save
            assert error_of(client, code, index) is None, f"cell {index} failed"
    np.testing.assert_allclose(embed(runs / "smoke" / "models" / saved), embed(clean), atol=1e-5)
    pretrained = load_file(str(Path(model_path(PACKAGED_MINILM)) / "model.safetensors"))
    trained = load_file(str(runs / "smoke" / "models" / saved / "model.safetensors"))
    moved = max(float(np.abs(trained[k] - pretrained[k]).max()) for k in trained if k in pretrained)
    assert moved > 1e-4, (
        f"the saved transformer weights equal the pretrained ones (largest change {moved})"
    )


def embed(folder: Path) -> np.ndarray:
    return SentenceTransformer(str(folder)).encode(TEXTS)


def test_every_saved_model_reads_as_far_as_the_pretrained_model(notebook_runs):
    """Training length is a speed knob: each model the notebooks saved reads the pretrained model's 256 tokens."""
    folders = sorted(p.parent for p in (notebook_runs / "smoke" / "models").glob("*/modules.json"))
    if not folders:
        pytest.skip("needs the runs of tests/test_rerun.py")
    pretrained = SentenceTransformer(model_path(PACKAGED_MINILM)).max_seq_length
    assert {p.name for p in folders} >= {
        "matryoshka",
        "standard",
        "matryoshka_2d",
        "matryoshka_2d_3layers",
    }
    assert {p.name: SentenceTransformer(str(p)).max_seq_length for p in folders} == dict.fromkeys(
        (p.name for p in folders), pretrained
    )
