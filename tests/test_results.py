"""The results store: atomic upserts by (model, dim), parameters recorded, stale rows refused."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.results import before_after, load_results, read_metrics, save_metrics, with_retention


def rows(model, values, dims=(64, 32)):
    return pd.DataFrame({"model": model, "dim": list(dims), "mrr@10": list(values)})


def test_upsert_replaces_own_rows_keeps_others(tmp_path):
    save_metrics(tmp_path, rows("baseline", [0.5, 0.4]), {"benchmark": "b1"})
    save_metrics(tmp_path, rows("matryoshka", [0.6, 0.55]), {"benchmark": "b1"})
    save_metrics(tmp_path, rows("baseline", [0.5, 0.4]), {"benchmark": "b1"})  # idempotent re-run
    table = read_metrics(tmp_path)
    assert len(table) == 4
    assert table.set_index(["model", "dim"]).loc[("matryoshka", 32), "mrr@10"] == 0.55
    assert not list(tmp_path.glob(".*.tmp"))  # no temp files left behind


def test_changed_params_drop_the_models_old_rows(tmp_path, capsys):
    save_metrics(tmp_path, rows("baseline", [0.5, 0.4, 0.3], dims=(64, 32, 16)), {"benchmark": "b1"})
    save_metrics(tmp_path, rows("baseline", [0.7, 0.6]), {"benchmark": "b2"})
    assert "changed" in capsys.readouterr().out
    assert sorted(read_metrics(tmp_path)["dim"]) == [32, 64]


def test_load_results_names_the_notebook_to_run(tmp_path):
    made_by = {"baseline": "01_x", "matryoshka": "02_y"}
    save_metrics(tmp_path, rows("baseline", [0.5, 0.4]), {"benchmark": "b1"})
    with pytest.raises(FileNotFoundError, match="run notebook 02_y first"):
        load_results(tmp_path, ["baseline", "matryoshka"], "b1", made_by)
    save_metrics(tmp_path, rows("matryoshka", [0.6, 0.5]), {"benchmark": "other"})
    with pytest.raises(ValueError, match="re-run notebook 02_y"):
        load_results(tmp_path, ["baseline", "matryoshka"], "b1", made_by)


def test_before_after_and_retention():
    table = pd.concat([rows("baseline", [0.5, 0.25]), rows("matryoshka", [0.6, 0.45])])
    out = before_after(table, "baseline", "matryoshka")
    assert out.loc[32, "change"] == pytest.approx(0.2)
    assert out.loc[32, "change_%"] == pytest.approx(80.0)
    assert out.loc[32, "retention_%_baseline"] == pytest.approx(50.0)
    assert out.loc[32, "retention_%_matryoshka"] == pytest.approx(75.0)
    assert with_retention(table).query("dim == 64")["retention_%"].tolist() == [100.0, 100.0]


def test_out_of_domain_rows_live_in_their_own_files(tmp_path, capsys):
    from helpers.results import OOD, read_params

    save_metrics(tmp_path, rows("baseline", [0.5, 0.4]), {"benchmark": "in-domain"})
    save_metrics(tmp_path, rows("baseline", [0.9, 0.8]), {"benchmark": "ood"}, prefix=OOD)
    assert "changed" not in capsys.readouterr().out  # the two benchmarks never replace each other's rows
    assert read_metrics(tmp_path)["mrr@10"].tolist() == [0.5, 0.4]
    assert read_metrics(tmp_path, prefix=OOD)["mrr@10"].tolist() == [0.9, 0.8]
    assert read_params(tmp_path, prefix=OOD)["baseline"] == {"benchmark": "ood"}
    assert (tmp_path / "ood_metrics.csv").is_file() and (tmp_path / "ood_params.json").is_file()
    assert len(load_results(tmp_path, ["baseline"], "ood", {"baseline": "01_x"}, prefix=OOD)) == 2
    with pytest.raises(FileNotFoundError, match=r"ood_metrics\.csv; run notebook 03_y first"):
        load_results(tmp_path, ["matryoshka"], "ood", {"matryoshka": "03_y"}, prefix=OOD)
