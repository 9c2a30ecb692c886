"""Profiles, model folders and Matryoshka dims: values and the one-sentence errors learners see."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from helpers.evaluation import check_dims, check_truncate_dim, matryoshka_dims
from helpers.profiles import PACKAGED_MINILM, get_profile, model_path, run_first, runs_dir
from helpers.run_files import require_saved_model


def test_matryoshka_dims():
    assert matryoshka_dims(768) == [768, 512, 256, 128, 64]
    assert matryoshka_dims(384) == [384, 256, 128, 64, 32]
    assert matryoshka_dims(1024) == [1024, 512, 256, 128, 64]


@pytest.mark.parametrize(
    ("dim", "message"),
    [
        (1024, "truncate_dim=1024 must be a whole number from 1 to the model's 384 dimensions"),
        (0, "from 1 to the model's 384"),
        (6.5, "from 1 to the model's 384"),
        (True, "truncate_dim=True must be a whole number"),
    ],
)
def test_bad_truncate_dim(dim, message):
    with pytest.raises(ValueError, match=message):
        check_truncate_dim(dim, 384)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            64,
            "EVAL_DIMS=64 must be a list of different sizes from 1 to 384, e.g. [384, 256, 128, 64, 32].",
        ),
        ([0], "EVAL_DIMS=[0] must be a list of different sizes"),
        ([384, 384], "EVAL_DIMS=[384, 384] must be a list of different sizes"),
        ([], "EVAL_DIMS=[] must be a list"),
        ("64", "EVAL_DIMS='64' must be a list"),
    ],
)
def test_dims_knobs_name_the_knob_the_learner_set(value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_dims(value, 384, knob="EVAL_DIMS")
    assert check_dims([np.int64(384), np.int32(64)], 384, knob="EVAL_DIMS") == [384, 64]
    assert type(check_truncate_dim(np.int64(64), 384)) is int


def test_truncate_dim_is_applied_and_not_unit_length(minilm):
    model = SentenceTransformer(model_path(PACKAGED_MINILM), truncate_dim=64)
    full = minilm.encode(["a handsaw with a thin blade"])
    short = model.encode(["a handsaw with a thin blade"])
    assert short.shape == (1, 64)
    np.testing.assert_allclose(short, full[:, :64], atol=1e-6)
    assert np.linalg.norm(short) < 0.999  # sliced after Normalize: shorter than 1


def test_missing_or_partial_or_damaged_saved_model(tmp_path, minilm):
    with pytest.raises(
        FileNotFoundError, match="No saved model at .*; run notebook 02_matryoshka_finetuning first"
    ):
        require_saved_model(tmp_path / "nothing", made_by="02_matryoshka_finetuning")
    saved = tmp_path / "matryoshka"
    minilm.save_pretrained(str(saved))
    assert require_saved_model(saved, "02_x") == str(saved)
    (
        saved / "config_sentence_transformers.json"
    ).unlink()  # the file it names is the one that is missing
    with pytest.raises(
        FileNotFoundError,
        match=r"not a whole saved model \(no config_sentence_transformers.json\); re-run notebook 02_x",
    ):
        require_saved_model(saved, "02_x")
    minilm.save_pretrained(str(saved))
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match="are missing or damaged; re-run notebook 02_x") as error:
        require_saved_model(saved, "02_x")
    assert error.value.__cause__ is None


def test_profiles(monkeypatch):
    monkeypatch.delenv("MRL_PROFILE", raising=False)
    assert get_profile().name == "offline"
    monkeypatch.setenv("MRL_PROFILE", " Smoke ")
    assert get_profile().name == "smoke"
    monkeypatch.setenv("MRL_PROFILE", "ofline")
    with pytest.raises(
        ValueError,
        match="MRL_PROFILE='ofline' is not a profile; set it to one of full, offline, smoke",
    ):
        get_profile()


def test_full_profile_without_gpu_stops_with_one_sentence(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(
        RuntimeError, match=r"needs a GPU and none is visible.*set MRL_PROFILE=offline"
    ):
        get_profile("full")


def test_colab_without_gpu_switches_to_the_cpu_course(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.delenv("MRL_PROFILE", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert get_profile().name == "offline"
    assert (
        "has no GPU, so the course runs its CPU-sized profile 'offline'" in capsys.readouterr().out
    )
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    assert get_profile().name == "full"


def test_missing_input_in_colab_says_to_mount_drive(monkeypatch):
    monkeypatch.delenv("MRL_RUNS_DIR", raising=False)
    assert run_first("02_x") == "run notebook 02_x first (same MRL_PROFILE)."
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert "with Google Drive mounted by the setup cell" in run_first("02_x")
    monkeypatch.setenv("MRL_RUNS_DIR", "/content/drive/MyDrive/mrl-course/runs")
    assert run_first("02_x") == "run notebook 02_x first (same MRL_PROFILE)."


def test_a_runs_folder_that_cannot_be_written_is_named_first(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setenv("MRL_RUNS_DIR", str(blocked))
    with pytest.raises(
        PermissionError,
        match=r"Cannot write to the runs folder .*blocked/smoke .*; set MRL_RUNS_DIR",
    ):
        runs_dir(get_profile("smoke"))


@pytest.mark.parametrize(
    ("capability", "expected"),
    [((7, 5), {"bf16": False, "fp16": True}), ((8, 0), {"bf16": True, "fp16": False})],
    ids=["T4", "A100"],
)
def test_precision_follows_compute_capability_not_emulated_bf16(
    monkeypatch, capability, expected, smoke_data, minilm
):
    import torch

    import helpers.recipe

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # a T4 says True too
    monkeypatch.setattr(
        helpers.recipe, "SentenceTransformerTrainingArguments", lambda **kwargs: kwargs
    )
    knobs = dict(
        batch_size=16, learning_rate=1e-4, epochs=1, warmup=0.1, query_prompt=None, seed=42
    )
    for precision, wanted in (("auto", expected), ("fp32", {"bf16": False, "fp16": False})):
        args = helpers.recipe.training_arguments("/nonexistent", precision=precision, **knobs)
        assert {k: args[k] for k in ("bf16", "fp16")} == wanted


# Notebook 10's int8 encoder moves each vector, within these bounds. Measured on 2026-12-06: the packaged MiniLM on the
# smoke passages, cosine to float32 mean 0.947, min 0.920; notebook 02's offline model on the 10k test passages, mean
# 0.961, min 0.881 (notebook 10's sample of 48: 0.962, 0.945)
INT8_COSINE_MEAN, INT8_COSINE_MIN = 0.93, 0.85


def test_int8_encoder_stays_within_tolerance_of_float32(minilm, smoke_data):
    import warnings

    import torch

    passages = list(smoke_data[2].corpus.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation
        int8 = torch.ao.quantization.quantize_dynamic(minilm, {torch.nn.Linear}, dtype=torch.qint8)
    layer = "0.auto_model.encoder.layer.0.intermediate.dense"
    assert isinstance(minilm.get_submodule(layer), torch.nn.Linear)  # quantize_dynamic copied
    assert not isinstance(int8.get_submodule(layer), torch.nn.Linear)
    fp32_vectors, int8_vectors = minilm.encode(passages), int8.encode(passages)
    assert int8_vectors.shape == fp32_vectors.shape == (len(passages), 384)
    np.testing.assert_allclose(np.linalg.norm(int8_vectors, axis=1), 1, atol=1e-5)  # Normalize runs
    cosine = (fp32_vectors * int8_vectors).sum(axis=1)
    assert cosine.mean() >= INT8_COSINE_MEAN, cosine.mean()
    assert cosine.min() >= INT8_COSINE_MIN, cosine.min()
    assert cosine.min() < 0.9999  # it did quantize
    # truncate_dim slices after encoding, as for float32 (the same batches: int8 scales each batch)
    int8.truncate_dim = 64
    np.testing.assert_allclose(int8.encode(passages), int8_vectors[:, :64], atol=1e-6)
