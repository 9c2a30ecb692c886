"""Profiles, model loading and Matryoshka dims: values and the one-sentence errors learners see."""

from __future__ import annotations

import sys
import types

import pytest

from helpers.models import (
    check_truncate_dim,
    load_model,
    load_saved_model,
    matryoshka_dims,
)
from helpers.profiles import PACKAGED_MINILM, get_profile, mixed_precision, run_first


def test_matryoshka_dims():
    assert matryoshka_dims(768) == [768, 512, 256, 128, 64]
    assert matryoshka_dims(384) == [384, 256, 128, 64, 32]
    assert matryoshka_dims(1024) == [1024, 512, 256, 128, 64]


@pytest.mark.parametrize(
    ("dim", "message"),
    [(1024, "larger than the model's 384"), (0, "positive whole number"), (6.5, "positive whole number")],
)
def test_bad_truncate_dim(dim, message):
    with pytest.raises(ValueError, match=message):
        check_truncate_dim(dim, 384)


def test_truncate_dim_is_applied_and_not_unit_length(minilm):
    import numpy as np

    model = load_model(PACKAGED_MINILM, truncate_dim=64)
    full = minilm.encode(["a handsaw with a thin blade"])
    short = model.encode(["a handsaw with a thin blade"])
    assert short.shape == (1, 64)
    np.testing.assert_allclose(short, full[:, :64], atol=1e-6)
    assert np.linalg.norm(short) < 0.999  # sliced after Normalize: shorter than 1


def test_missing_or_wrong_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="run notebook 02_matryoshka_finetuning first"):
        load_saved_model(tmp_path / "nothing", made_by="02_matryoshka_finetuning")
    (tmp_path / "notes").mkdir()
    with pytest.raises(FileNotFoundError, match="is not a saved sentence-transformers model"):
        load_saved_model(tmp_path / "notes", made_by="02_matryoshka_finetuning")


def test_profiles(monkeypatch):
    monkeypatch.delenv("MRL_PROFILE", raising=False)
    assert get_profile().name == "offline"
    monkeypatch.setenv("MRL_PROFILE", " Smoke ")
    assert get_profile().name == "smoke"
    monkeypatch.setenv("MRL_PROFILE", "ofline")
    with pytest.raises(
        ValueError, match="MRL_PROFILE='ofline' is not a profile; set it to one of full, offline, smoke"
    ):
        get_profile()


def test_full_profile_without_gpu_stops_with_one_sentence(monkeypatch):
    monkeypatch.setattr("helpers.profiles.gpu_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"needs a GPU and none is visible.*set MRL_PROFILE=offline"):
        get_profile("full")


def test_colab_without_gpu_switches_to_the_cpu_course(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.delenv("MRL_PROFILE", raising=False)
    monkeypatch.setattr("helpers.profiles.gpu_available", lambda: False)
    assert get_profile().name == "offline"
    assert "has no GPU, so the course runs its CPU-sized profile 'offline'" in capsys.readouterr().out
    monkeypatch.setattr("helpers.profiles.gpu_available", lambda: True)
    assert get_profile().name == "full"


def test_missing_input_in_colab_says_to_mount_drive(monkeypatch):
    monkeypatch.delenv("MRL_RUNS_DIR", raising=False)
    assert run_first("02_x") == "run notebook 02_x first (same MRL_PROFILE)."
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert "with Google Drive mounted by the setup cell" in run_first("02_x")
    monkeypatch.setenv("MRL_RUNS_DIR", "/content/drive/MyDrive/mrl-course/runs")
    assert run_first("02_x") == "run notebook 02_x first (same MRL_PROFILE)."


@pytest.mark.parametrize(
    ("capability", "expected"),
    [((7, 5), {"bf16": False, "fp16": True}), ((8, 0), {"bf16": True, "fp16": False})],
    ids=["T4", "A100"],
)
def test_precision_follows_compute_capability_not_emulated_bf16(monkeypatch, capability, expected):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # a T4 says True too
    assert mixed_precision("auto") == expected
    assert mixed_precision("fp32") == {"bf16": False, "fp16": False}


def test_hub_model_without_network_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="set MRL_PROFILE=offline"):
        load_model("BAAI/bge-base-en-v1.5")
