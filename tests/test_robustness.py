"""What a careless learner does (bad knobs, kills mid-write, damaged files, cells out of order).

Each case reproduces the mistake and asserts the one sentence the learner gets and that nothing
made earlier was lost. The cases of the training recipe are in tests/test_training.py and
tests/test_train_script.py, those of the results files in tests/test_run_files.py.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers.training import whole_or_nothing


def save(model, recipe: dict, folder: Path) -> None:
    """Notebook 02's save cell."""
    with whole_or_nothing(folder, model, recipe) as new:
        model.save_pretrained(new)


ROOT = Path(__file__).resolve().parent.parent


def everything(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


class Saving:
    """A model trained with ``recipe`` whose ``save_pretrained`` writes weights, then is killed (or not)."""

    def __init__(self, weights: str, recipe: dict, killed: bool = False) -> None:
        self.weights, self.killed = weights, killed
        self.course_trained_with = recipe  # what train() notes on a model

    def preprocess(self, texts: list[str]) -> None:
        """A real model's tokenizer call; nothing to do here."""

    def save_pretrained(self, folder: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_text(self.weights)
        if self.killed:
            raise KeyboardInterrupt  # killed before the recipe was written


def test_a_save_killed_half_way_leaves_the_old_model_and_recipe_together(tmp_path):
    model_dir = tmp_path / "matryoshka"
    save(Saving("old weights", {"lr": 1}), {"lr": 1}, model_dir)
    with pytest.raises(KeyboardInterrupt):
        save(Saving("new weights", {"lr": 2}, killed=True), {"lr": 2}, model_dir)
    assert everything(model_dir) == {
        "model.safetensors": b"old weights",
        "recipe.json": b'{\n  "lr": 1\n}',
    }
    save(
        Saving("new weights", {"lr": 2}), {"lr": 2}, model_dir
    )  # the next save cleans up the cut-off one
    assert (model_dir / "model.safetensors").read_text() == "new weights"
    assert [p.name for p in tmp_path.iterdir()] == ["matryoshka"]


def test_a_shard_is_never_opened_for_writing_in_place(tmp_path, monkeypatch):
    """A second process (two benchmark builds at once) must never read a half-written shard: shards
    are written to a temporary file and renamed over the old one."""
    from course_data.sources import write_shards

    write_shards([{"query": "q", "positive": "p", "negative": "n"}] * 4, tmp_path)
    real_open = Path.open

    def guarded(self, mode="r", *args, **kwargs):
        assert not (self.suffix == ".jsonl" and set(mode) & set("wa")), (
            f"{self.name} opened for writing in place"
        )
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    paths = write_shards(
        [{"query": f"q{i}", "positive": "p", "negative": "n"} for i in range(6)], tmp_path
    )
    monkeypatch.undo()
    assert sum(len(p.read_text().splitlines()) for p in paths) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in paths]


def code_cells(name: str) -> list[str]:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_notebooks_05_and_10_check_their_inputs_in_the_parameters_cell_before_they_train():
    """They need notebook 01's and 03's rows and notebook 02's model: asked for before any work."""
    for name in ("05_standard_vs_matryoshka.ipynb", "10_fewer_layers_2d_matryoshka.ipynb"):
        code = code_cells(name)
        check = next(
            i
            for i, s in enumerate(code)
            if "require_inputs(" in s and 'metrics_matryoshka.csv"' in s
        )
        assert check < next(i for i, s in enumerate(code) if "trainer.train(" in s)


def test_notebook_02_checks_its_knobs_before_anything_is_trained():
    code = "\n".join(code_cells("02_matryoshka_finetuning.ipynb"))
    assert code.index('check_knobs("02", globals())') < code.index(
        'check_knobs("02", globals(), rows='
    )
    assert code.index('check_knobs("02", globals(), rows=') < code.index("trainer.train(")


NO_SPACE = 'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'


def one_sentence(error: BaseException) -> str:
    """What Jupyter shows for ``error``: its ``_render_traceback_`` lines, which must be one."""
    (line,) = error._render_traceback_()
    return line


def test_a_full_disk_at_a_checkpoint_is_one_sentence_and_the_next_run_goes_on(
    tmp_path, monkeypatch, train_script
):
    """safetensors raises what a full disk raised here (the runs folder on a 30 MB filesystem): a 137-line traceback
    before; now one sentence with the folder, its free space and what to do. The cut-off checkpoint goes next run."""
    import transformers.modeling_utils
    from safetensors import SafetensorError

    from helpers.errors import DiskFullError

    def full(*args, **kwargs):
        raise SafetensorError(NO_SPACE)

    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    argv = ["--profile", "smoke", "--max-steps", "4", "--save-steps", "2", "--pca-fit-texts", "0"]
    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", full)
    with pytest.raises(DiskFullError) as caught:
        train_script.main(argv)
    assert re.fullmatch(
        r"DiskFullError: The disk holding \S+/smoke/checkpoints/matryoshka/\w+ is full \(\d+ MB free\) while writing "
        r"a checkpoint; free some space there, or set MRL_RUNS_DIR to a folder with room before the setup cell, then "
        r"run this cell again \(what was saved before is intact\)\.",
        one_sentence(caught.value),
    )
    monkeypatch.undo()
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    report = train_script.main(
        argv
    )  # room again: the cut-off checkpoint-2 is removed, training starts afresh
    assert report["resumed_from"] is None and report["global_step"] == 4


def test_a_full_disk_at_the_final_save_keeps_the_model_saved_before(tmp_path):
    from helpers.errors import DiskFullError
    from helpers.run_files import save_metrics

    model_dir = tmp_path / "matryoshka"
    save(Saving("old weights", {"lr": 1}), {"lr": 1}, model_dir)

    class Full(Saving):
        def save_pretrained(self, folder: str) -> None:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / "model.safetensors").write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(
        DiskFullError, match=r"is full \(\d+ MB free\) while saving the model; free some space"
    ):
        save(Full("new weights", {"lr": 2}), {"lr": 2}, model_dir)
    assert everything(model_dir) == {
        "model.safetensors": b"old weights",
        "recipe.json": b'{\n  "lr": 1\n}',
    }
    assert [p.name for p in tmp_path.iterdir()] == [
        "matryoshka"
    ]  # no half-written folder beside it
    table = pd.DataFrame({"model": "baseline", "dim": [64], "mrr@10": [0.5], "benchmark": "b1"})
    before = save_metrics(tmp_path, table).read_bytes()
    real_replace = os.replace

    def full_replace(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    os.replace = full_replace
    try:
        with pytest.raises(DiskFullError, match="while writing metrics_baseline.csv"):
            save_metrics(tmp_path, table.assign(**{"mrr@10": [0.6]}))
    finally:
        os.replace = real_replace
    assert (tmp_path / "metrics_baseline.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matryoshka", "metrics_baseline.csv"]


def test_a_notebook_whose_inputs_are_missing_says_so_before_it_builds_or_downloads_anything(
    tmp_path,
):
    """Notebooks 03-10 in the offline profile, with nothing saved yet (say, 02 ran in smoke): each stops with the
    notebook to run, in seconds, before building the offline benchmark or downloading the out-of-domain sdist."""
    from notebook_cells import kernel

    runs = tmp_path / "runs"
    blank = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("") for _ in range(60)])
    setup = f"import os\nos.environ['MRL_PROFILE'] = 'offline'\nos.environ['MRL_RUNS_DIR'] = {str(runs)!r}"
    with kernel(blank, tmp_path, timeout=120, allow_errors=True) as client:
        client.execute_cell(nbformat.v4.new_code_cell(setup), 0)
        for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))[2:]:
            for cell in (
                c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
            ):
                cell.outputs = []
                client.execute_cell(cell, 1)
                error = next((out for out in cell.outputs if out.output_type == "error"), None)
                if error is not None:
                    break
            assert error is not None and error.ename == "FileNotFoundError", (path.name, error)
            assert re.search(r"run notebook 0\d_\w+ first \(same MRL_PROFILE\)\.$", error.evalue), (
                error.evalue
            )
            made = sorted(str(p.relative_to(runs)) for p in runs.rglob("*"))
            assert made == ["offline"], f"{path.name} wrote {made} before saying what was missing"
