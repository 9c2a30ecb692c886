"""Notebook 02's recipe functions: the model start, the losses, the arguments and where checkpoints go.

The whole recipe runs in notebook 02 and scripts/train_matryoshka.py (tests/test_train_script.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)

from course_data.splits import training_texts
from helpers.knobs import KnobError, check_knobs
from helpers.profiles import BGE_QUERY_PROMPT, PACKAGED_MINILM, PROFILES
from helpers.recipe import start_model, training_arguments
from helpers.training import recipe_folder, recipe_of

KNOBS = dict(
    batch_size=16,
    learning_rate=1e-4,
    epochs=1,
    warmup=0.1,
    precision="fp32",
    query_prompt=None,
    seed=42,
)


@pytest.fixture(scope="module")
def started(smoke_data):
    return start_model(PACKAGED_MINILM, smoke_data.train, None, 12_000, None, 42)


def test_start_model_sizes_the_sequence_and_rotates_without_changing_cosines(
    started, minilm, smoke_data
):
    """At step 0 the rotated model's full-size cosines are the pretrained model's, and the first
    coordinates carry the most variance of the training texts."""
    assert (
        started.course_train_length % 8 == 0
        and 16 <= started.course_train_length < minilm.max_seq_length
    )
    assert (
        started.max_seq_length == minilm.max_seq_length
    )  # training length is not the model's: it reads 256
    assert [type(m).__name__ for m in started] == ["Transformer", "Pooling", "Dense", "Normalize"]
    texts = list(smoke_data.test.corpus.values())[:20]
    before, after = minilm.encode(texts), started.encode(texts)
    np.testing.assert_allclose(after @ after.T, before @ before.T, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)
    _, passages = training_texts(smoke_data.train, 12_000, seed=42)
    variance = (started.encode(passages) ** 2).mean(axis=0)
    assert variance[:32].sum() > variance[-32:].sum() * 3  # the leading axes carry the most


def test_start_model_again_starts_afresh_and_zero_texts_means_no_rotation(smoke_data):
    again = start_model(PACKAGED_MINILM, smoke_data.train, 32, 0, None, 42)
    assert [type(m).__name__ for m in again] == [
        "Transformer",
        "Pooling",
        "Normalize",
    ] and (again.course_train_length, again.max_seq_length) == (32, 256)


def test_cached_mnrl_inside_matryoshka_gives_the_plain_loss(smoke_data, minilm):
    """The full profile's memory saver changes memory, not the loss: same value on the same batch."""
    rows = smoke_data.train.select(range(8))
    minilm.max_seq_length = 32
    features = [minilm.tokenize(list(rows[column])) for column in ("query", "positive", "negative")]
    plain = MatryoshkaLoss(minilm, MultipleNegativesRankingLoss(minilm), matryoshka_dims=[384, 64])
    cached = MatryoshkaLoss(
        minilm,
        CachedMultipleNegativesRankingLoss(minilm, mini_batch_size=3),
        matryoshka_dims=[384, 64],
    )
    plain_value = plain(features, torch.empty(0)).item()
    assert plain_value > 0.1 and cached(features, torch.empty(0)).item() == pytest.approx(
        plain_value, rel=1e-4
    )
    minilm.max_seq_length = 256


def folder_of(model, loss, rows, root, **knobs) -> tuple[str, dict, object]:
    """Notebook 02's steps 4 and 5 up to training: the checkpoint folder checked_run names, and the recipe."""
    from sentence_transformers import SentenceTransformerTrainer

    args = training_arguments(root, **{**KNOBS, **knobs})
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=rows, loss=loss)
    recipe = recipe_of(trainer, PACKAGED_MINILM, 12_000)
    return recipe_folder(root, recipe), recipe, args


def test_checkpoints_go_to_a_folder_of_their_own_recipe(started, smoke_data, tmp_path):
    loss = MultipleNegativesRankingLoss(started)
    folder, recipe, args = folder_of(started, loss, smoke_data.train, tmp_path)
    assert Path(folder).parent == tmp_path and recipe["modules"][2] == "Dense"
    assert (
        folder_of(started, loss, smoke_data.train, tmp_path)[0] == folder
    )  # the same recipe, the same folder
    other_knob, _, _ = folder_of(started, loss, smoke_data.train, tmp_path, batch_size=8)
    matryoshka = MatryoshkaLoss(started, loss, matryoshka_dims=[384, 64])
    other_loss, recipe, _ = folder_of(started, matryoshka, smoke_data.train, tmp_path)
    assert len({folder, other_knob, other_loss}) == 3
    assert (recipe["loss"], recipe["base_loss"], recipe["matryoshka_dims"]) == (
        "MatryoshkaLoss",
        "MultipleNegativesRankingLoss",
        [384, 64],
    )
    assert recipe["max_seq_length"] == started.course_train_length and recipe["n_train"] == len(
        smoke_data.train
    )
    assert (
        args.save_steps == 0.25 and args.batch_sampler == "no_duplicates" and args.report_to == []
    )


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"LEARNING_RATE": -1}, "LEARNING_RATE=-1 must be a small positive number such as 2e-5."),
        (
            {"BATCH_SIZE": 0},
            "BATCH_SIZE=0 must be a whole number from 1 to the 256 training rows, such as 32.",
        ),
        (
            {"BATCH_SIZE": 8.5},
            "BATCH_SIZE=8.5 must be a whole number from 1 to the 256 training rows",
        ),
        ({"EPOCHS": 0}, "EPOCHS=0 must be a positive whole number such as 1."),
        ({"WARMUP": 1.5}, "WARMUP=1.5 must be a fraction of the steps"),
        (
            {"BATCH_SIZE": 1024},
            "BATCH_SIZE=1024 must be a whole number from 1 to the 256 training rows",
        ),
    ],
)
def test_bad_knobs_stop_with_their_sentence(smoke_data, knobs, message):
    """Notebook 02's knobs, checked against the course's table (the rows: where the data is loaded)."""
    good = {name.upper(): value for name, value in KNOBS.items()} | {
        "PRECISION": "fp32",
        "PCA_FIT_TEXTS": 0,
    }
    with pytest.raises(KnobError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_knobs("02", good | knobs, rows=len(smoke_data.train))
    check_knobs("02", good, rows=len(smoke_data.train))  # the good values pass


def test_too_few_training_texts_for_a_pca_named(smoke_data):
    with pytest.raises(
        ValueError,
        match="Only .* distinct training texts to fit a PCA of 384 dims; raise PCA_FIT_TEXTS or n_train",
    ):
        training_texts(smoke_data.train, 100, at_least=384)


def test_full_profile_recipe_trains_queries_with_the_evaluation_prompt(
    tmp_path, monkeypatch, train_script
):
    """The full profile's knobs (BGE's query prompt, the cached loss, a model that reads 512 tokens) on the smoke
    data, through the script: queries train with the prompt, and the saved model reads 512 tokens, as BGE does."""
    import shutil

    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer

    from helpers.profiles import model_path

    bge_like = (
        tmp_path / "bge-like"
    )  # MiniLM whose limit is BGE's 512 (its position table has 512 rows)
    shutil.copytree(model_path(PACKAGED_MINILM), bge_like)
    (bge_like / "sentence_bert_config.json").write_text(
        '{"max_seq_length": 512, "do_lower_case": false}'
    )
    bge_smoke = replace(
        PROFILES["smoke"], model=str(bge_like), query_prompt=BGE_QUERY_PROMPT, mini_batch_size=8
    )
    monkeypatch.setitem(PROFILES, "smoke", bge_smoke)
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path))
    seen = []
    original = SentenceTransformerTrainer.training_step

    def record(self, model, inputs, *args, **kwargs):
        seen.append((inputs, model.max_seq_length))
        return original(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformerTrainer, "training_step", record)
    report = train_script.main(["--profile", "smoke", "--max-steps", "1", "--pca-fit-texts", "0"])
    assert report["recipe"]["query_prompt"] == BGE_QUERY_PROMPT
    assert report["recipe"]["base_loss"] == "CachedMultipleNegativesRankingLoss"
    tokenizer = SentenceTransformer(str(bge_like)).tokenizer
    query = tokenizer.decode(seen[0][0]["query_input_ids"][0], skip_special_tokens=True)
    positive = tokenizer.decode(seen[0][0]["positive_input_ids"][0], skip_special_tokens=True)
    assert query.startswith("represent this sentence for searching relevant passages :")
    assert not positive.startswith("represent this sentence")
    trained_at = report["recipe"]["max_seq_length"]  # the data's length: short texts train fast
    assert seen[0][1] == trained_at < 512
    assert (
        SentenceTransformer(report["model_dir"]).max_seq_length == 512
    )  # what BGE reads, saved with it
