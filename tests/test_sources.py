"""Data sources: the WordNet parser (pip CRLF and Debian LF layouts) and the streamed loader every profile uses."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset

from course_data import SMOKE
from course_data.sources import source_dataset, write_shards
from course_data.splits import DataError, build_benchmark
from course_data.wordnet import QUERY_TEMPLATES, parse_wordnet, wordnet_rows
from helpers.recipe import stream_rows

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
def test_parse_wordnet_both_line_endings(tmp_path, newline):
    synsets, senses = parse_wordnet(write_wordnet(tmp_path / "wn", newline))
    assert set(synsets) == {"00000100", "00000200", "00000300"}
    # the quoted example is dropped from the definition
    assert synsets["00000200"] == (("coping_saw",), ("00000100",), "a handsaw with a thin blade")
    assert synsets["00000300"][0] == ("spokeshave", "draw_knife")
    assert senses == {"tool": 1, "coping_saw": 1, "spokeshave": 1}


def test_rows_use_sibling_definitions_as_negatives(tmp_path):
    rows = list(wordnet_rows(write_wordnet(tmp_path / "wn", "\r\n")))
    saw = next(r for r in rows if "coping saw" in r["query"])
    assert saw["query"] in {t.format(a="a", x="coping saw") for t in QUERY_TEMPLATES}
    assert (saw["positive"], saw["negative"], saw["group"]) == (
        "a handsaw with a thin blade",
        "a plane with a handle at each end",
        "00000100",
    )
    assert len(rows) == 2  # the root has no hypernym, so it is never a query


def test_installed_wordnet_is_found_and_rich():
    rows = list(wordnet_rows())
    assert (
        len({r["query"] for r in rows}) > 40_000 and len(rows) < 200_000
    )  # the offline profile takes all
    assert all(r["positive"] != r["negative"] and r["group"].isdigit() for r in rows[:2000])


def test_local_shards_stream_back_whole_and_in_order(tmp_path):
    rows = [{"query": f"q{i}", "positive": f"p{i}", "negative": f"n{i % 3}"} for i in range(21)]
    files = write_shards(rows, tmp_path / "src")
    stamps = [p.stat().st_mtime_ns for p in files]
    assert (
        write_shards(rows, tmp_path / "src") == files
        and [p.stat().st_mtime_ns for p in files] == stamps
    )
    ds = stream_rows({"path": "json", "data_files": [str(f) for f in files], "split": "train"}, 25)
    assert isinstance(ds, Dataset)  # materialised, so the NO_DUPLICATES sampler applies
    assert ds.to_list() == rows[:25] and ds.column_names == ["query", "positive", "negative"]


def test_every_local_profile_streams_through_load_dataset(smoke_profile, tmp_path):
    dataset = source_dataset(smoke_profile, tmp_path)
    assert dataset == {
        "path": "json",
        "data_files": [str(SMOKE / "creatures.jsonl")],
        "split": "train",
    }  # shipped with the package
    assert len(stream_rows(dataset, smoke_profile.n_source_rows)) == smoke_profile.n_source_rows


def test_misnamed_columns_are_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"anchor": "a", "positive": "b", "negative": "c"}) + "\n")
    rows = stream_rows({"path": "json", "data_files": [str(path)], "split": "train"}, 5)
    with pytest.raises(DataError, match=r"needs \['query'\] .*name yours with OWN_COLUMNS"):
        build_benchmark(rows, 1, 1, 10, 10)


def test_hub_without_network_raises_one_sentence(monkeypatch):
    import course_data.sources
    import helpers.recipe

    def offline(*args, **kwargs):
        raise ConnectionError(
            "Couldn't reach 'sentence-transformers/msmarco' on the Hub (LocalEntryNotFoundError)"
        )

    monkeypatch.setattr(helpers.recipe, "load_dataset", offline)
    with pytest.raises(
        ConnectionError, match="Cannot reach the Hugging Face hub.*MRL_PROFILE=offline"
    ) as error:
        stream_rows(course_data.sources.MSMARCO, 10)
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_hub_dataset_offline_gets_the_sentence(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="set MRL_PROFILE=offline"):
        stream_rows(
            {"path": "sentence-transformers/no-such-dataset-here", "name": "triplet-hard"}, 5
        )
