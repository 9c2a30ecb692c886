"""scripts/train_matryoshka.py: notebook 02's recipe as a flat script, on one process and under torchrun.

The script and notebook 02 must not drift apart: trained on the smoke data, they give the same
model (same embeddings to float tolerance) and write the same recipe.
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
from transformers import TrainerCallback

from helpers.models import load_model
from helpers.training import load_recipe

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "train_matryoshka.py"
TEXTS = ["a handsaw with a thin blade", "what is a small boat used for fishing", "a large body of water"]


class StopAt(TrainerCallback):
    """Simulates a lost runtime: raises once the trainer is about to run step ``step + 1``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def embed(folder: Path) -> np.ndarray:
    return load_model(folder).encode(TEXTS)


def test_script_trains_the_same_model_as_notebook_02(tmp_path, monkeypatch, train_script):
    monkeypatch.setenv("MRL_PROFILE", "smoke")
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path / "notebook"))
    nb = nbformat.read(ROOT / "notebooks" / "02_matryoshka_finetuning.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path / "script"))
    report = train_script.main(["--profile", "smoke"])
    from_notebook = tmp_path / "notebook" / "smoke" / "models" / "matryoshka"
    from_script = Path(report["model_dir"])
    assert from_script == tmp_path / "script" / "smoke" / "models" / "matryoshka"
    made_by = "02_matryoshka_finetuning"
    assert load_recipe(from_script, made_by) == load_recipe(from_notebook, made_by)
    np.testing.assert_allclose(embed(from_script), embed(from_notebook), atol=1e-5)
    assert not np.allclose(
        embed(from_script), load_model("packaged:all-MiniLM-L6-v2").encode(TEXTS), atol=1e-3
    )


def test_interrupted_run_resumes_to_the_same_model(tmp_path, monkeypatch, train_script):
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    train = train_script.main
    # 192 smoke rows at 48 a step: 4 steps make exactly one epoch (a run that completed)
    argv = ["--profile", "smoke", "--batch-size", "48", "--max-steps", "4", "--save-steps", "1"]
    whole = train([*argv, "--output", str(tmp_path / "whole")])
    assert whole["global_step"] == 4 and whole["resumed_from"] is None
    with pytest.raises(KeyboardInterrupt):
        train([*argv, "--output", str(tmp_path / "cut")], callbacks=[StopAt(2)])
    resumed = train([*argv, "--output", str(tmp_path / "cut")])
    assert resumed["resumed_from"].endswith("checkpoint-2") and resumed["global_step"] == 4
    np.testing.assert_allclose(embed(tmp_path / "cut"), embed(tmp_path / "whole"), atol=1e-5)
    again = train([*argv, "--output", str(tmp_path / "whole")])  # run again, nothing changed
    assert again["resumed_from"].endswith("checkpoint-4") and again["global_step"] == 4


def test_changed_recipe_starts_afresh_and_control_loss(tmp_path, monkeypatch, capsys, train_script):
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    train = train_script.main
    train(["--profile", "smoke", "--max-steps", "1"])
    report = train(["--profile", "smoke", "--max-steps", "1", "--batch-size", "8", "--max-seq-length", "16"])
    assert report["resumed_from"] is None and "Parameters changed" in capsys.readouterr().out
    control = train(["--profile", "smoke", "--loss", "mnrl", "--max-steps", "1", "--evaluate"])
    recipe = load_recipe(tmp_path / "smoke" / "models" / "standard", made_by="05_standard_vs_matryoshka")
    assert recipe["loss"] == "MultipleNegativesRankingLoss" and recipe["matryoshka_dims"] is None
    assert set(control["mrr@10"]) == {384, 256, 128, 64, 32}


@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="no torchrun"
)
def test_torchrun_shards_the_batches_across_processes(tmp_path):
    # 192 training rows, batch 48 per process: one process needs 4 steps per epoch, two need 2,
    # which only holds if each process reads different batches (real data parallelism).
    torchrun = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc_per_node", "2"]
    env = {
        **os.environ,
        "MRL_RUNS_DIR": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    done = subprocess.run(
        [*torchrun, str(SCRIPT), "--profile", "smoke", "--batch-size", "48"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["global_step"] == 2
    assert (tmp_path / "smoke" / "models" / "matryoshka" / "modules.json").is_file()
