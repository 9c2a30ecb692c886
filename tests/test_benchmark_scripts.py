"""The benchmark scripts run, their figures are real, and the README's Performance section matches them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script: str, *args: str, results: Path) -> dict:
    env = {**os.environ, "MRL_BENCH_RESULTS": str(results), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line == json.loads((results / f"{line['benchmark']}.json").read_text())
    return line


def docs_tool():
    """tools/docs.py as a module (it is a script, not part of a package)."""
    import importlib.util

    path = BENCH.parent / "tools" / "docs.py"
    spec = importlib.util.spec_from_file_location("docs_tool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_performance_section_matches_the_result_files():
    """tools/docs.py renders the section with report.py, from JSON files of the committed run's benchmark."""
    docs = docs_tool()
    assert docs.f_performance() in (BENCH / "README.md").read_text()


def test_a_figure_of_another_model_or_benchmark_is_refused(monkeypatch):
    """S1 and S2 must carry the committed run's fingerprints (results/offline/fingerprints.json)."""
    docs = docs_tool()
    real = {name: docs.bench(name) for name in ("s1_evaluation", "s2_search")}
    docs.check_benchmark_fingerprints()  # the committed files pass
    for name, key, value, says in [
        ("s2_search", "model_matryoshka", "000000000000", "on model_matryoshka 000000000000"),
        ("s1_evaluation", "test", "000000000000", "on test 000000000000"),
        ("s2_search", "model_matryoshka", None, "with no model_matryoshka fingerprint"),
    ]:
        prints = {**real[name]["fingerprints"], key: value}
        stale = {**real[name], "fingerprints": {k: v for k, v in prints.items() if v is not None}}
        monkeypatch.setattr(docs, "bench", lambda n, s=stale, t=name: s if n == t else real[n])
        with pytest.raises(docs.StaleError, match=f"{name}.json was measured {says}"):
            docs.check_benchmark_fingerprints()


def test_s1_evaluator_parity_on_a_small_cut(tmp_path):
    line = run(
        "s1_evaluation.py",
        "--n-queries",
        "20",
        "--n-corpus",
        "200",
        "--repeats",
        "1",
        "--profile",
        "smoke",
        results=tmp_path,
    )
    assert line["max_abs_metric_diff"] <= 1e-6
    assert line["speedup"]["n"] == 1 and line["speedup"]["median"] > 1  # one encode instead of four
    # the test split it is cut from; its model is the packaged pretrained one, with no fingerprint
    assert list(line["fingerprints"]) == ["test"]


def test_s3_training_step_timings(tmp_path):
    line = run(
        "s3_training.py",
        "--steps",
        "1",
        "--batch-size",
        "4",
        "--max-seq-length",
        "16",
        "--profile",
        "smoke",
        results=tmp_path,
    )
    assert set(line["seconds_per_step"]) == {"mnrl", "matryoshka"}
    assert all(v["median"] > 0 for v in line["seconds_per_step"].values())
    assert all(
        m["peak_mib"] > 100 for m in line["peak_memory_mib"].values()
    )  # a loaded model, at least


def test_s4_pgvector_on_a_tiny_corpus(tmp_path):
    """S4 starts PostgreSQL from pip, loads, indexes and queries 2,000 vectors: every figure is present and real."""
    line = run(
        "s4_pgvector.py",
        "--sizes",
        "2000",
        "--n-queries",
        "10",
        "--shortlists",
        "20",
        "100",
        results=tmp_path,
    )
    (size,) = line["sizes"]
    assert size["vectors"] == 2000 and size["index_build_s"] > 0 and size["prefix_index_MiB"] > 0
    assert size["table_MiB"] >= size["raw_float32_MiB"]  # 2000 x 384 float32 and row headers
    assert [(r["shortlist"], r["ef_search"]) for r in size["runs"]] == [
        (20, 20),
        (20, 80),
        (100, 100),
        (100, 400),
    ]
    for r in size["runs"]:
        assert r["median_ms"] > 0
        assert (
            0.5 <= r["recall@10"] <= r["numpy_exact_funnel_recall@10"] + 0.05
        )  # the index, at most noise above exact
    assert "pgvector 0.8" in line["engine"]


def test_dev_choices_trains_notebook_02s_recipe_with_one_lever_changed_and_scores_it_on_dev(
    tmp_path,
):
    """Issue 21's study on the smoke data: two variants, dev only, the interval recomputable from the file."""
    import numpy as np

    env = {
        **os.environ,
        "MRL_BENCH_RESULTS": str(tmp_path),
        "MRL_RUNS_DIR": str(tmp_path / "runs"),
        "HF_HUB_OFFLINE": "1",
    }
    script = [sys.executable, str(BENCH / "dev_choices.py"), "--profile", "smoke"]
    done = subprocess.run(
        [*script, "default", "weights_1-1-1-2-2"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    default, weighted = (
        json.loads(line) for line in (tmp_path / "dev_recipe.jsonl").read_text().splitlines()
    )
    assert (
        default["recipe"]["n_train"] == 256
        and default["recipe"]["batch_size"] == 16
        and default["steps"] == 16
    )
    assert (
        weighted["changes"] == {"matryoshka_weights": [1, 1, 1, 2, 2]}
        and "vs_default" not in default
    )
    for line in (default, weighted):
        assert line["profile"] == "smoke" and set(line["dev"]) == {"384", "256", "128", "64", "32"}
        scores = {d: np.array(s) for d, s in line["per_query"].items()}
        assert all(
            len(s) == 12 for s in scores.values()
        )  # the smoke dev split's queries, not test's 24
        assert all(abs(scores[d].mean() - line["dev"][d]) < 1e-3 for d in scores)
    diff, low, high = weighted["vs_default"]["32"]
    expected = np.mean(np.array(weighted["per_query"]["32"]) - np.array(default["per_query"]["32"]))
    assert abs(diff - expected) < 1e-3 and low <= diff <= high
    table = subprocess.run([*script, "--report"], env=env, capture_output=True, text=True).stdout
    assert (
        table.splitlines()[2].startswith("| default | 16 |")
        and "| weights_1-1-1-2-2 | 16 |" in table
    )
    # the reference row: the pretrained model scored untrained, its full size the bar for every 64-d prefix
    done = subprocess.run([*script, "pretrained"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    pretrained = json.loads((tmp_path / "dev_recipe.jsonl").read_text().splitlines()[-1])
    assert pretrained["steps"] == 0 and len(pretrained["per_query"]["384"]) == 12
    gap = np.mean(np.array(weighted["per_query"]["64"]) - np.array(pretrained["per_query"]["384"]))
    table = subprocess.run([*script, "--report"], env=env, capture_output=True, text=True).stdout
    row = next(r for r in table.splitlines() if r.startswith("| weights_1-1-1-2-2 |"))
    assert row.split(" | ")[-1].startswith(
        f"{gap:+.3f} ("
    )  # the last column: 64 dims vs pretrained at 384
    # the confirmation afterwards: the same recipe scored on test, into its own file, never into the dev lines
    done = subprocess.run(
        [*script, "--split", "test", "default"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (confirmed,) = (
        json.loads(line) for line in (tmp_path / "dev_recipe_test.jsonl").read_text().splitlines()
    )
    assert "dev" not in confirmed and all(
        len(s) == 24 for s in confirmed["per_query"].values()
    )  # test's 24 queries
    assert confirmed["recipe"] == default["recipe"]
    assert (
        len((tmp_path / "dev_recipe.jsonl").read_text().splitlines()) == 3
    )  # the dev lines untouched


def test_s5_real_scale_on_a_tiny_cut_resumes_from_its_cache(tmp_path):
    """S5 on the smoke benchmark among 100 real passages (the Debian sample's descriptions), the packaged MiniLM:
    every method is scored against qrels and exact search, the exact rows agree, and a second run encodes nothing
    (the chunks cached under the runs folder are read back)."""
    import csv

    from helpers.profiles import PACKAGED_MINILM, model_path

    sample = BENCH.parent / "course_data" / "smoke" / "debian_descriptions.csv"
    texts = [row["description"] for row in csv.DictReader(sample.open(encoding="utf-8"))][:120]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    args = ["--profile", "smoke", "--model", model_path(PACKAGED_MINILM), "--corpus", str(corpus)]
    args += ["--sizes", "150", "250", "--n-timed", "5", "--shortlists", "20", "--ef-search", "40"]
    os.environ["MRL_RUNS_DIR"] = str(tmp_path / "runs")
    try:
        first = run("s5_real_scale.py", *args, "--max-passages", "100", results=tmp_path)
        again = run("s5_real_scale.py", *args, "--max-passages", "100", results=tmp_path)
    finally:
        del os.environ["MRL_RUNS_DIR"]
    n = first["corpus"]["distractors"]
    assert 90 < n <= 100  # the distinct texts
    assert [s["passages"] for s in first["sizes"]] == [150, 150 + n]
    assert len(list((tmp_path / "runs" / "smoke" / "scale").rglob("chunk_*.npy"))) == 1
    assert again["encode_s"] < first["encode_s"]  # the distractors came from the cache
    for size in first["sizes"]:
        exact, *others = size["rows"]
        assert exact["recall@10_vs_exact"] == 1.0 and 0 < exact["mrr@10"] <= 1
        methods = {r["method"] for r in others}
        assert {
            "pgvector bit HNSW shortlist 20, full rerank",
            "pgvector halfvec HNSW, full size",
        } <= methods
        assert all(0 <= r["recall@10_vs_exact"] <= 1 and r["median_ms"] > 0 for r in others)
        assert all(i["build_s"] > 0 and i["MiB"] > 0 for i in size["indexes"].values())
    assert first["encoding"]["encoded_now"] == n and again["encoding"]["encoded_now"] == 0
    assert first["encoding"]["timed_passages"] == n and first["encoding"]["timed_s"] > 0
    assert first["machine_memory"]["peak_MiB"] >= first["machine_memory"]["at_start_MiB"] > 0
    assert first["query_encode_ms"]["median_ms"] > 0

    # the documents' S5 fields read this run's file: notebook 08's and notebook 06's blocks render from it
    docs = docs_tool()
    shutil.copy(tmp_path / "s5_real_scale_smoke.json", tmp_path / "s5_real_scale.json")
    shutil.copy(BENCH / "results" / "s4_pgvector.json", tmp_path / "s4_pgvector.json")
    docs.BENCH, docs.check_benchmark_fingerprints = tmp_path, lambda *names: None
    for template in ("nb08_at_scale.md", "nb06_whole_query.md"):
        text = docs.render((docs.SRC / template).read_text())
        assert "{{" not in text and f"{150 + n:,}" in text
    best = docs._scale_best(first["sizes"][0]["rows"], "99")
    assert best is None or best["mrr@10"] >= 0.99 * first["sizes"][0]["rows"][0]["mrr@10"]
