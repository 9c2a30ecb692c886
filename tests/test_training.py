"""Training: the recipe runs, resumes from a checkpoint to the same result, and is reproducible."""

from __future__ import annotations

from dataclasses import replace

import pytest
from transformers import TrainerCallback

from helpers.evaluation import evaluate_model
from helpers.models import load_model, matryoshka_dims
from helpers.profiles import BGE_QUERY_PROMPT, PACKAGED_MINILM, PROFILES
from helpers.training import Recipe, fit_max_seq_length, make_loss, make_trainer, profile_recipe, train

STEPS = 4


def recipe(dims=(384, 256, 128, 64, 32), batch_size=16):
    return Recipe(
        matryoshka_dims=dims,
        batch_size=batch_size,
        learning_rate=1e-4,
        epochs=1,
        warmup=0.1,
        max_seq_length=32,
        seed=7,
        precision="fp32",
        n_train=64,
        max_steps=STEPS,
    )


class StopAt(TrainerCallback):
    """Simulates a lost runtime: raises once the trainer is about to run step ``step + 1``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def run(train_rows, tmp_path, name, callbacks=None):
    model = load_model(PACKAGED_MINILM)
    result = train(
        model, train_rows, tmp_path / name / "model", recipe(), tmp_path / name / "ckpt", 2, callbacks
    )
    return model, result


def test_resume_matches_uninterrupted_run_and_is_reproducible(smoke_data, tmp_path):
    train_rows, bench = smoke_data
    model_a, full = run(train_rows, tmp_path, "a")
    assert full.global_step == STEPS and full.resumed_from is None
    assert (full.model_dir / "modules.json").is_file()

    with pytest.raises(KeyboardInterrupt):
        run(train_rows, tmp_path, "b", callbacks=[StopAt(2)])
    _, resumed = run(train_rows, tmp_path, "b")
    assert resumed.resumed_from is not None and resumed.resumed_from.endswith("checkpoint-2")
    assert resumed.global_step == STEPS
    assert resumed.training_loss == pytest.approx(full.training_loss, rel=1e-5)

    _, rerun = run(train_rows, tmp_path, "a")  # notebook 02 run again, nothing changed
    assert rerun.resumed_from.endswith(f"checkpoint-{STEPS}") and rerun.global_step == STEPS
    assert rerun.training_loss == full.training_loss

    model_c, again = run(train_rows, tmp_path, "c")
    assert again.training_loss == full.training_loss
    metrics_a, _, _ = evaluate_model(model_a, bench, [384, 64], "a")
    metrics_c, _, _ = evaluate_model(model_c, bench, [384, 64], "a")
    assert metrics_a.equals(metrics_c)


def test_changed_recipe_starts_afresh(smoke_data, tmp_path, capsys):
    train_rows, _ = smoke_data
    run(train_rows, tmp_path, "a")
    model = load_model(PACKAGED_MINILM)
    other = recipe(dims=(384, 64), batch_size=16)
    result = train(model, train_rows, tmp_path / "a" / "model", other, tmp_path / "a" / "ckpt", 2)
    assert result.resumed_from is None and result.global_step == STEPS
    assert "Parameters changed" in capsys.readouterr().out


def test_loss_and_sizes(minilm, smoke_data):
    train_rows, _ = smoke_data
    loss = make_loss(minilm, matryoshka_dims(384))
    assert type(loss).__name__ == "MatryoshkaLoss" and tuple(loss.matryoshka_dims) == (384, 256, 128, 64, 32)
    assert type(make_loss(minilm, None)).__name__ == "MultipleNegativesRankingLoss"
    with pytest.raises(ValueError, match="must be descending"):
        make_loss(minilm, [32, 64])
    length = fit_max_seq_length(minilm, list(train_rows["positive"]))
    assert length % 8 == 0 and 16 <= length <= minilm.max_seq_length


def test_batch_larger_than_data(smoke_data, tmp_path):
    train_rows, _ = smoke_data
    model = load_model(PACKAGED_MINILM)
    with pytest.raises(ValueError, match="fewer than batch_size=128"):
        train(model, train_rows, tmp_path / "m", recipe(batch_size=128), tmp_path / "c")


def test_gpu_out_of_memory_suggests_a_fix(smoke_data, tmp_path, monkeypatch):
    import torch
    from sentence_transformers import SentenceTransformerTrainer

    def out_of_memory(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(SentenceTransformerTrainer, "train", out_of_memory)
    train_rows, _ = smoke_data
    model = load_model(PACKAGED_MINILM)
    with pytest.raises(
        RuntimeError, match="halve the batch size or swap in CachedMultipleNegativesRankingLoss"
    ):
        train(model, train_rows, tmp_path / "m", recipe(), tmp_path / "c")


def test_full_recipe_trains_queries_with_the_prompt_it_evaluates_with(smoke_data, minilm, tmp_path):
    train_rows, _ = smoke_data
    full = profile_recipe(PROFILES["full"], minilm, train_rows)
    assert full.query_prompt == BGE_QUERY_PROMPT == PROFILES["full"].query_prompt
    assert full.mini_batch_size == 32 and full.precision == "auto"
    trainer, _ = make_trainer(minilm, train_rows, replace(full, batch_size=8), tmp_path / "ckpt")
    batch = next(iter(trainer.get_train_dataloader()))
    query = minilm.tokenizer.decode(batch["query_input_ids"][0], skip_special_tokens=True)
    positive = minilm.tokenizer.decode(batch["positive_input_ids"][0], skip_special_tokens=True)
    assert query.startswith(BGE_QUERY_PROMPT.lower().strip().replace(":", " :"))
    assert not positive.startswith("represent this sentence")
    assert profile_recipe(PROFILES["offline"], minilm, train_rows).query_prompt is None


def test_cached_mnrl_inside_matryoshka_gives_the_plain_loss(smoke_data):
    """The full profile's memory saver changes memory, not the loss: same value on the same batch."""
    import torch

    train_rows, _ = smoke_data
    model = load_model(PACKAGED_MINILM, max_seq_length=32)
    rows = train_rows.select(range(8))
    features = [model.tokenize(list(rows[column])) for column in ("query", "positive", "negative")]
    dims = (384, 64)
    plain = make_loss(model, dims)(features, torch.empty(0)).item()
    cached = make_loss(model, dims, mini_batch_size=3)(features, torch.empty(0)).item()
    assert type(make_loss(model, dims, 3).loss).__name__ == "CachedMultipleNegativesRankingLoss"
    assert plain > 0.1 and cached == pytest.approx(plain, rel=1e-4)
