"""Training plumbing and the full profile's recipe: prompts, the cached loss, the sequence length.

The recipe itself runs in notebook 02 and scripts/train_matryoshka.py (tests/test_train_script.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from helpers.models import load_model
from helpers.profiles import BGE_QUERY_PROMPT, PACKAGED_MINILM, PROFILES
from helpers.training import checkpoint_to_resume, fit_max_seq_length, load_recipe


def test_sequence_length_is_fitted_to_the_data(minilm, smoke_data):
    train_rows, _, _ = smoke_data
    length = fit_max_seq_length(minilm, list(train_rows["positive"]))
    assert length % 8 == 0 and 16 <= length <= minilm.max_seq_length
    assert fit_max_seq_length(minilm, ["word " * 1000]) == minilm.max_seq_length  # never above the model's


def test_full_profile_recipe_trains_queries_with_the_evaluation_prompt(tmp_path, monkeypatch, train_script):
    """The full profile's knobs (BGE's query prompt, the cached loss) on the smoke data, through the script."""
    from sentence_transformers import SentenceTransformerTrainer

    full_like = replace(PROFILES["smoke"], query_prompt=BGE_QUERY_PROMPT, mini_batch_size=8)
    monkeypatch.setitem(PROFILES, "smoke", full_like)
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    seen = []
    original = SentenceTransformerTrainer.training_step

    def record(self, model, inputs, *args, **kwargs):
        seen.append(inputs)
        return original(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformerTrainer, "training_step", record)
    report = train_script.main(["--profile", "smoke", "--max-steps", "1"])
    recipe = load_recipe(Path(report["model_dir"]), made_by="02_matryoshka_finetuning")
    assert (
        recipe["query_prompt"] == BGE_QUERY_PROMPT
        and recipe["base_loss"] == "CachedMultipleNegativesRankingLoss"
    )
    tokenizer = load_model(PACKAGED_MINILM).tokenizer
    query = tokenizer.decode(seen[0]["query_input_ids"][0], skip_special_tokens=True)
    positive = tokenizer.decode(seen[0]["positive_input_ids"][0], skip_special_tokens=True)
    assert query.startswith("represent this sentence for searching relevant passages :")
    assert not positive.startswith("represent this sentence")


def test_cached_mnrl_inside_matryoshka_gives_the_plain_loss(smoke_data):
    """The full profile's memory saver changes memory, not the loss: same value on the same batch."""
    import torch
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
        MatryoshkaLoss,
        MultipleNegativesRankingLoss,
    )

    train_rows, _, _ = smoke_data
    model = load_model(PACKAGED_MINILM, max_seq_length=32)
    rows = train_rows.select(range(8))
    features = [model.tokenize(list(rows[column])) for column in ("query", "positive", "negative")]
    plain = MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), matryoshka_dims=[384, 64])
    cached = MatryoshkaLoss(
        model, CachedMultipleNegativesRankingLoss(model, mini_batch_size=3), matryoshka_dims=[384, 64]
    )
    plain_value = plain(features, torch.empty(0)).item()
    assert plain_value > 0.1 and cached(features, torch.empty(0)).item() == pytest.approx(
        plain_value, rel=1e-4
    )


def test_checkpoints_of_another_recipe_are_removed(tmp_path, capsys):
    folder = tmp_path / "ckpt"
    assert checkpoint_to_resume(folder, {"batch_size": 16}) is None
    (folder / "checkpoint-3").mkdir()
    (folder / "checkpoint-3" / "trainer_state.json").write_text("{}")
    assert checkpoint_to_resume(folder, {"batch_size": 16}).endswith("checkpoint-3")
    assert checkpoint_to_resume(folder, {"batch_size": 8}) is None
    assert "Parameters changed" in capsys.readouterr().out and not (folder / "checkpoint-3").exists()


def test_pca_rotation_layer_keeps_full_size_cosines_and_orders_the_prefix(minilm, smoke_data):
    """Notebook 02's PCA start: at step 0 full-size cosines are the pretrained model's, and the
    first coordinates carry the most variance of the training texts."""
    import copy

    import numpy as np
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense
    from sklearn.decomposition import PCA

    from helpers.training import training_texts

    train_rows, _, test = smoke_data
    queries, passages = training_texts(train_rows, 12_000, seed=42, at_least=384)
    assert not (set(queries) | set(passages)) & set(test.queries.values())  # training texts only
    fit_emb = np.vstack([minilm.encode(queries), minilm.encode(passages)])
    axes = PCA(random_state=42).fit(fit_emb).components_
    rotated = copy.deepcopy(minilm)
    rotated.insert(
        len(rotated) - 1,
        Dense(384, 384, bias=False, activation_function=torch.nn.Identity(), init_weight=torch.tensor(axes)),
    )
    assert type(rotated[-1]).__name__ == "Normalize"
    texts = list(test.corpus.values())[:20]
    before, after = minilm.encode(texts), rotated.encode(texts)
    np.testing.assert_allclose(after @ after.T, before @ before.T, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)
    variance = (rotated.encode(passages) ** 2).mean(axis=0)
    assert variance[:32].sum() > variance[-32:].sum() * 3  # the leading axes carry the most


def test_too_few_training_texts_for_a_pca_named(smoke_data):
    from helpers.training import training_texts

    train_rows, _, _ = smoke_data
    with pytest.raises(ValueError, match="raise PCA_FIT_TEXTS or the profile's n_train"):
        training_texts(train_rows, 100, at_least=384)
