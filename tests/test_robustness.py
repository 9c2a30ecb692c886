"""What a careless learner does (bad knobs, kills mid-write, damaged files, cells out of order).

Each case reproduces the mistake and asserts the one sentence the learner gets and that nothing
made earlier was lost. The cases of the training recipe are in tests/test_training.py and
tests/test_train_script.py, those of the results files in tests/test_results.py.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers.recipe import save

ROOT = Path(__file__).resolve().parent.parent


def everything(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Saving:
    """Stands in for a model whose ``save_pretrained`` writes weights, then is killed (or not)."""

    def __init__(self, weights: str, killed: bool = False) -> None:
        self.weights, self.killed = weights, killed

    def save_pretrained(self, folder: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_text(self.weights)
        if self.killed:
            raise KeyboardInterrupt  # killed before the recipe was written


def test_a_save_killed_half_way_leaves_the_old_model_and_recipe_together(tmp_path):
    model_dir = tmp_path / "matryoshka"
    save(Saving("old weights"), {"lr": 1}, model_dir)
    with pytest.raises(KeyboardInterrupt):
        save(Saving("new weights", killed=True), {"lr": 2}, model_dir)
    assert everything(model_dir) == {"model.safetensors": b"old weights", "recipe.json": b'{\n  "lr": 1\n}'}
    save(Saving("new weights"), {"lr": 2}, model_dir)  # the next save cleans up the cut-off one
    assert (model_dir / "model.safetensors").read_text() == "new weights"
    assert [p.name for p in tmp_path.iterdir()] == ["matryoshka"]


def test_a_shard_is_never_opened_for_writing_in_place(tmp_path, monkeypatch):
    """A second process (two benchmark builds at once) must never read a half-written shard: shards
    are written to a temporary file and renamed over the old one."""
    from helpers.sources import write_shards

    write_shards([{"query": "q", "positive": "p", "negative": "n"}] * 4, tmp_path)
    real_open = Path.open

    def guarded(self, mode="r", *args, **kwargs):
        assert not (self.suffix == ".jsonl" and set(mode) & set("wa")), f"{self.name} opened for writing in place"
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    paths = write_shards([{"query": f"q{i}", "positive": "p", "negative": "n"} for i in range(6)], tmp_path)
    monkeypatch.undo()
    assert sum(len(p.read_text().splitlines()) for p in paths) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in paths]


def code_cells(name: str) -> list[str]:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_notebook_05_checks_its_inputs_before_it_trains():
    """The parameters cell asks for notebook 01's and 03's rows, before the training cells run."""
    code = code_cells("05_standard_vs_matryoshka.ipynb")
    check = next(i for i, s in enumerate(code) if 'load_results(TEST_DIR, ["baseline", "matryoshka"], None' in s)
    assert check < next(i for i, s in enumerate(code) if "train(model, loss" in s)


def test_notebook_02_checks_its_knobs_before_anything_is_trained():
    code = "\n".join(code_cells("02_matryoshka_finetuning.ipynb"))
    assert code.index("args, recipe = training_arguments(") < code.index("trainer, output, resume = train(")
