"""A learner's own data and model: named once (notebook 01's OWN_* knobs or MRL_DATA...), kept in runs/own.json for
the later notebooks, read as CSV/TSV/JSON Lines/Parquet or from the hub, and split and mined like the course's own.
The whole course on it runs in the Colab simulation (tests/test_colab.py)."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from datasets import Dataset

from course_data import SMOKE
from course_data.own import data_arguments, pooling_note
from course_data.splits import load_benchmark
from helpers.knobs import KnobError
from helpers.profiles import PACKAGED_MINILM, get_profile, model_path, runs_dir

DEBIAN = (
    SMOKE / "debian_descriptions.csv"
)  # data/debian_descriptions.py's sample: other column names
COLUMNS = {"summary": "query", "description": "positive", "source_package": "group"}


@pytest.fixture
def runs(tmp_path, monkeypatch):
    for name in ("MRL_DATA", "MRL_COLUMNS", "MRL_MODEL", "MRL_QUERY_PROMPT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MRL_PROFILE", "smoke")
    monkeypatch.setenv("MRL_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_named_once_then_followed_by_later_notebooks_until_course_is_named(runs):
    own = get_profile(data=str(DEBIAN), columns=COLUMNS)
    assert own.name.startswith("own_debian_descriptions_") and own.source == "own"
    assert own.data == {"path": "csv", "data_files": [str(DEBIAN)], "split": "train"}
    assert (own.n_test_queries, own.n_train, own.batch_size) == (
        24,
        256,
        16,
    )  # smoke's sizes, as caps
    assert json.loads((runs / "own.json").read_text())["columns"] == COLUMNS
    assert get_profile() == own  # notebooks 02-10: nothing named, the runs folder decides
    assert get_profile("smoke").source == "synthetic"  # a profile named outright ignores it
    assert get_profile(data="course").source == "synthetic" and not (runs / "own.json").exists()
    assert get_profile().source == "synthetic"


def test_the_environment_names_them_too(runs, monkeypatch):
    monkeypatch.setenv("MRL_DATA", str(DEBIAN))
    monkeypatch.setenv("MRL_COLUMNS", "summary=query,description=positive,source_package=group")
    assert get_profile().columns == COLUMNS
    monkeypatch.setenv("MRL_COLUMNS", json.dumps(COLUMNS))
    assert get_profile().columns == COLUMNS


@pytest.mark.parametrize(
    "knobs, said",
    [
        ({"data": "no/such/pairs.csv"}, "OWN_DATA='no/such/pairs.csv' must be a CSV"),
        (
            {"data": str(DEBIAN), "columns": {"summary": "text"}},
            "OWN_COLUMNS={'summary': 'text'} must be",
        ),
        ({"data": str(DEBIAN), "model": "no-such/model"}, "OWN_MODEL='no-such/model' must be"),
        ({"data": str(DEBIAN), "query_prompt": 7}, "OWN_QUERY_PROMPT=7 must be"),
    ],
)
def test_a_bad_value_stops_with_one_sentence_naming_it_before_any_file_is_written(
    runs, knobs, said, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(KnobError, match=said):
        get_profile(**knobs)
    assert not runs.exists() or not any(runs.iterdir())


def test_files_by_their_extension_and_a_hub_id_otherwise(tmp_path):
    rows = list(csv.DictReader(DEBIAN.open(encoding="utf-8")))[:5]
    Dataset.from_list(rows).to_parquet(tmp_path / "a.parquet")
    Dataset.from_list(rows).to_json(tmp_path / "b.jsonl")
    (tmp_path / "c.tsv").write_text("query\tpositive\nq\tp\n")
    assert data_arguments(str(tmp_path / "a.parquet"))["path"] == "parquet"
    assert data_arguments(str(tmp_path / "b.jsonl"))["path"] == "json"
    assert data_arguments(str(tmp_path / "c.tsv"))["delimiter"] == "\t"
    assert data_arguments(str(tmp_path / "*.parquet"))["data_files"] == [
        str(tmp_path / "a.parquet")
    ]
    hub = {"path": "sentence-transformers/natural-questions", "split": "train"}
    assert data_arguments("sentence-transformers/natural-questions") == hub
    assert data_arguments({"path": "x/y", "name": "pair", "split": "dev"})["split"] == "dev"


def test_pairs_are_split_sized_to_the_data_and_mined_from_training_passages_only(runs):
    profile = get_profile(data=str(DEBIAN), columns=COLUMNS)
    train, dev, test = load_benchmark(profile, runs_dir(profile))
    assert train.column_names == ["query", "positive", "negative"]
    assert 0.9 * profile.n_train < len(train) <= profile.n_train  # mining drops a pair now and then
    held_out = {test.corpus[d] for b in (dev, test) for rel in b.qrels.values() for d in rel}
    assert not held_out & (
        set(train["positive"]) | set(train["negative"])
    )  # no eval passage as a negative
    assert all(r["negative"] != r["positive"] for r in train)
    assert (len(test.queries), len(dev.queries)) == (profile.n_test_queries, profile.n_dev_queries)


def test_a_model_without_a_sentence_transformers_config_gets_the_librarys_pooling(tmp_path):
    """A plain transformers folder (no modules.json): mean pooling, no Normalize; notebook 02's rotation goes right
    after the pooling all the same, and notebook 01 says so in one line."""
    from sentence_transformers import SentenceTransformer

    from helpers.recipe import start_model

    plain = tmp_path / "plain"
    source = model_path(PACKAGED_MINILM)
    plain.mkdir()
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
    ):
        shutil.copy(f"{source}/{name}", plain / name)
    model = SentenceTransformer(str(plain))
    assert "has no sentence-transformers config" in pooling_note(str(plain), model)
    assert "mean pooling" in pooling_note(str(plain), model)
    assert "its own sentence-transformers config" in pooling_note(
        PACKAGED_MINILM, SentenceTransformer(source)
    )
    rows = Dataset.from_list(
        [{"query": f"q {i}", "positive": f"p {i}", "negative": f"n {i}"} for i in range(200)]
    )
    rotated = start_model(str(plain), rows, None, 600, None, 42)
    assert [type(m).__name__ for m in rotated] == ["Transformer", "Pooling", "Dense"]
