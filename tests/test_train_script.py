"""scripts/train_matryoshka.py: notebook 02's recipe from the command line, on one process and under torchrun.

The script and notebook 02 must not drift apart: trained on the smoke data, they give the same
model (same embeddings to float tolerance) and write the same recipe. Interrupting a run after its
first checkpoint never gives a model that differs from an uninterrupted run (before its first one:
tests/test_rerun_out_of_order.py, in the notebooks' kernels).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from sentence_transformers import SentenceTransformer
from transformers import TrainerCallback

from helpers.profiles import model_path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "train_matryoshka.py"
TEXTS = [
    "a handsaw with a thin blade",
    "what is a small boat used for fishing",
    "a large body of water",
]


class StopAt(TrainerCallback):
    """Simulates a lost runtime or Kernel > Interrupt: raises once the trainer is about to run step ``step + 1``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def embed(folder: Path) -> np.ndarray:
    return SentenceTransformer(str(folder)).encode(TEXTS)


def recipe_of(folder: Path) -> dict:
    return json.loads((Path(folder) / "recipe.json").read_text())


def test_script_trains_the_same_model_as_notebook_02(
    notebook_runs, tmp_path, monkeypatch, train_script
):
    monkeypatch.setenv("MRL_PROFILE", "smoke")
    from_notebook = (
        notebook_runs / "smoke" / "models" / "matryoshka"
    )  # saved by tests/test_rerun.py's run of 02
    if not (from_notebook / "recipe.json").is_file():  # this test alone: run notebook 02 first
        monkeypatch.setenv("MRL_RUNS_DIR", str(notebook_runs))
        nb = nbformat.read(ROOT / "notebooks" / "02_matryoshka_finetuning.ipynb", as_version=4)
        NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path / "script"))
    report = train_script.main(["--profile", "smoke"])
    from_script = Path(report["model_dir"])
    assert from_script == tmp_path / "script" / "smoke" / "models" / "matryoshka"
    assert recipe_of(from_script) == recipe_of(from_notebook)
    np.testing.assert_allclose(embed(from_script), embed(from_notebook), atol=1e-5)
    assert not np.allclose(
        embed(from_script),
        SentenceTransformer(model_path("packaged:all-MiniLM-L6-v2")).encode(TEXTS),
        atol=1e-3,
    )


ARGV = [
    "--profile",
    "smoke",
    "--batch-size",
    "16",
    "--max-steps",
    "4",
    "--save-steps",
    "2",
    "--pca-fit-texts",
    "0",
]


def test_interrupted_after_a_checkpoint_resumes_to_the_same_model(
    tmp_path, monkeypatch, capsys, train_script
):
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    train = train_script.main
    # 4 steps of 16 of the 256 smoke rows: max_steps ends the run mid-epoch (notebook 10's offline case, where
    # transformers alone would resume a finished run with one step more); checkpoints at 2 and 4
    whole = train([*ARGV, "--output", str(tmp_path / "whole")])
    assert whole["global_step"] == 4 and whole["resumed_from"] is None
    with pytest.raises(KeyboardInterrupt):
        train([*ARGV, "--output", str(tmp_path / "cut")], callbacks=[StopAt(2)])
    folder = next((tmp_path / "smoke" / "checkpoints" / "cut").iterdir())
    (
        folder / "checkpoint-3"
    ).mkdir()  # a checkpoint cut off while being written: no trainer_state.json
    resumed = train([*ARGV, "--output", str(tmp_path / "cut")])
    assert "checkpoint-3 was cut off while being written: removed" in capsys.readouterr().out
    assert resumed["resumed_from"].endswith("checkpoint-2") and resumed["global_step"] == 4
    np.testing.assert_allclose(embed(tmp_path / "cut"), embed(tmp_path / "whole"), atol=1e-5)
    again = train([*ARGV, "--output", str(tmp_path / "whole")])  # run again, nothing changed
    assert again["resumed_from"].endswith("checkpoint-4") and again["global_step"] == 4


def test_changed_recipe_starts_afresh_keeps_the_old_checkpoints_and_control_loss(
    tmp_path, monkeypatch, capsys, train_script
):
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    train = train_script.main
    first = train(["--profile", "smoke", "--max-steps", "1", "--pca-fit-texts", "0"])
    report = train(
        [
            "--profile",
            "smoke",
            "--max-steps",
            "1",
            "--batch-size",
            "8",
            "--max-seq-length",
            "16",
            "--pca-fit-texts",
            "0",
        ]
    )
    assert first["resumed_from"] is None and report["resumed_from"] is None
    assert "Checkpoints of other recipes stay in" in capsys.readouterr().out
    assert (
        len(list((tmp_path / "smoke" / "checkpoints" / "matryoshka").iterdir())) == 2
    )  # nothing deleted
    control = train(
        [
            "--profile",
            "smoke",
            "--loss",
            "mnrl",
            "--max-steps",
            "1",
            "--evaluate",
            "--pca-fit-texts",
            "0",
        ]
    )
    recipe = recipe_of(tmp_path / "smoke" / "models" / "standard")
    assert recipe["loss"] == "MultipleNegativesRankingLoss" and recipe["matryoshka_dims"] is None
    assert set(control["mrr@10"]) == {384, 256, 128, 64, 32}
    train(
        ["--profile", "smoke", "--loss", "2d", "--max-steps", "1", "--pca-fit-texts", "0"]
    )  # notebook 10's loss
    assert recipe_of(tmp_path / "smoke" / "models" / "matryoshka_2d")["loss"] == "Matryoshka2dLoss"


@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="no torchrun"
)
def test_torchrun_shards_the_batches_across_processes(tmp_path):
    # 256 training rows, batch 64 per process: one process needs 4 steps per epoch, two need 2,
    # which only holds if each process reads different batches (real data parallelism).
    torchrun = [
        str(Path(sys.executable).parent / "torchrun"),
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    env = {
        **os.environ,
        "MRL_RUNS_DIR": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    done = subprocess.run(
        [
            *torchrun,
            str(SCRIPT),
            "--profile",
            "smoke",
            "--batch-size",
            "64",
            "--pca-fit-texts",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["global_step"] == 2
    assert (tmp_path / "smoke" / "models" / "matryoshka" / "modules.json").is_file()
