"""The results files: one per (benchmark, model), replaced whole, stamped with the benchmark, edits kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.run_files import load_embeddings, load_results, save_embeddings, save_metrics

MADE_BY = {"baseline": "01_x", "matryoshka": "03_y"}


def rows(model, values, dims=(64, 32), benchmark="b1"):
    return pd.DataFrame(
        {"model": model, "dim": list(dims), "mrr@10": list(values), "benchmark": benchmark}
    )


def test_each_model_has_its_own_file_and_a_rerun_replaces_only_it(tmp_path):
    save_metrics(tmp_path, rows("baseline", [0.5, 0.4]))
    save_metrics(tmp_path, rows("matryoshka", [0.6, 0.55]))
    before = (tmp_path / "metrics_baseline.csv").read_bytes()
    save_metrics(tmp_path, rows("matryoshka", [0.7, 0.65]))  # a re-run of one notebook
    assert (tmp_path / "metrics_baseline.csv").read_bytes() == before
    table = load_results(tmp_path, ["baseline", "matryoshka"], "b1", MADE_BY)
    assert table.set_index(["model", "dim"]).loc[("matryoshka", 32), "mrr@10"] == 0.65
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics_baseline.csv",
        "metrics_matryoshka.csv",
    ]


def test_missing_or_stale_rows_name_the_notebook(tmp_path):
    save_metrics(tmp_path, rows("baseline", [0.5, 0.4]))
    with pytest.raises(
        FileNotFoundError, match="No 'matryoshka' results at .*; run notebook 03_y first"
    ):
        load_results(tmp_path, ["baseline", "matryoshka"], "b1", MADE_BY)
    save_metrics(tmp_path, rows("matryoshka", [0.6, 0.5], benchmark="other"))
    with pytest.raises(ValueError, match="measured on a different benchmark; re-run notebook 03_y"):
        load_results(tmp_path, ["baseline", "matryoshka"], "b1", MADE_BY)
    assert (
        len(load_results(tmp_path, ["matryoshka"], None, MADE_BY)) == 2
    )  # None: only that it exists


def test_a_column_added_by_hand_is_kept_and_not_called_damage(tmp_path):
    path = save_metrics(tmp_path, rows("baseline", [0.5, 0.4]))
    edited = pd.read_csv(path).assign(note=["checked", ""])  # one note left empty
    edited.to_csv(path, index=False)
    table = load_results(tmp_path, ["baseline"], "b1", MADE_BY)
    assert table["note"].tolist()[0] == "checked" and path.read_text() == edited.to_csv(index=False)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("", "no model, dim, benchmark column"),
        ("model,dim\nbaseline,384", "no benchmark column"),
        (
            "model,dim,benchmark\nbaseline,384,b1\nbaseline,6",
            "a row lacks its model, dim or benchmark",
        ),
    ],
    ids=["empty", "no-fingerprint", "cut-in-row"],
)
def test_a_damaged_file_names_itself_and_the_notebook(tmp_path, content, what):
    (tmp_path / "metrics_baseline.csv").write_text(content)
    with pytest.raises(
        ValueError, match=f"metrics_baseline.csv is damaged \\({what}\\); re-run notebook 01_x"
    ):
        load_results(tmp_path, ["baseline"], "b1", MADE_BY)


def test_nan_metrics_are_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ValueError, match="NaN or infinite; nothing was saved"):
        save_metrics(tmp_path, rows("baseline", [0.5, float("nan")]))
    assert not list(tmp_path.iterdir())


def test_embeddings_round_trip_and_wrong_shapes_are_refused(tmp_path):
    path = tmp_path / "matryoshka_corpus_full.npy"
    save_embeddings(path, np.ones((150, 100)))
    assert load_embeddings(path, 150, 100, "03_re_evaluation").dtype == np.float32
    assert (path.stat().st_mode & 0o777) != 0o600  # the usual permissions, not mkstemp's
    with pytest.raises(
        ValueError,
        match=r"has shape \(150, 100\), but this benchmark has 150 passages and the model 384",
    ):
        load_embeddings(path, 150, 384, "03_re_evaluation")
    path.write_bytes(b"\x93NUMPY cut off")
    with pytest.raises(
        ValueError, match="is damaged .not a readable .npy file.; re-run notebook 03_re_evaluation"
    ):
        load_embeddings(path, 150, 384, "03_re_evaluation")
    with pytest.raises(FileNotFoundError, match="is missing; run notebook 03_re_evaluation first"):
        load_embeddings(tmp_path / "none.npy", 150, 384, "03_re_evaluation")


def test_an_interrupted_embeddings_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "e.npy"
    save_embeddings(path, np.ones((3, 4)))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        save_embeddings(path, np.zeros((3, 4)))
    monkeypatch.undo()
    assert np.load(path).sum() == 12 and [p.name for p in tmp_path.iterdir()] == ["e.npy"]
