"""``python -m helpers.train``: notebook 02's recipe from the command line, one process and under torchrun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.training import load_recipe


def run_cli(tmp_path: Path, *args: str, launcher: list[str] | None = None) -> dict:
    env = {
        **os.environ,
        "MRL_RUNS_DIR": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [*(launcher or [sys.executable]), "-m", "helpers.train", "--profile", "smoke", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_one_process_trains_saves_and_evaluates_like_notebook_02(tmp_path):
    report = run_cli(tmp_path, "--max-steps", "2", "--evaluate")
    model_dir = tmp_path / "smoke" / "models" / "matryoshka"  # where notebook 02 saves, so 03-07 find it
    assert report["global_step"] == 2 and Path(report["model_dir"]) == model_dir
    assert (model_dir / "modules.json").is_file()
    recipe = load_recipe(model_dir, made_by="02_matryoshka_finetuning")
    assert recipe.matryoshka_dims == (384, 256, 128, 64, 32)
    assert (recipe.batch_size, recipe.learning_rate, recipe.n_train) == (16, 1e-4, 64)  # the smoke profile's
    assert set(report["mrr@10"]) == {"384", "256", "128", "64", "32"}
    assert all(0.0 <= value <= 1.0 for value in report["mrr@10"].values())


def test_control_loss_and_overrides(tmp_path):
    report = run_cli(
        tmp_path, "--loss", "mnrl", "--max-steps", "1", "--batch-size", "8", "--max-seq-length", "16"
    )
    recipe = load_recipe(tmp_path / "smoke" / "models" / "standard", made_by="05_standard_vs_matryoshka")
    assert recipe.matryoshka_dims is None and recipe.batch_size == 8 and recipe.max_seq_length == 16
    assert report["global_step"] == 1


@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="no torchrun"
)
def test_torchrun_shards_the_batches_across_processes(tmp_path):
    # 64 training rows, batch 16 per process: one process needs 4 steps per epoch, two need 2,
    # which only holds if each process reads different batches (real data parallelism).
    torchrun = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc_per_node", "2"]
    report = run_cli(tmp_path, "--epochs", "1", launcher=torchrun)
    assert report["global_step"] == 2
    assert (tmp_path / "smoke" / "models" / "matryoshka" / "modules.json").is_file()
