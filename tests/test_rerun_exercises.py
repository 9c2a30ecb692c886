"""Every exercise at the end of a notebook, solved as its text and hints say, in the smoke profile.

The reference solutions are in ``tests/exercises/NN.py`` (its README says how a block applies). After
tests/test_rerun.py ran the ten notebooks (this file's name sorts after it, so pytest-xdist's group runs it
later), each notebook's cells run again with an exercise's changes, in this process (pytest's collection
already imported torch and sentence-transformers, which a kernel would import again), on a copy of those
runs, and the tests assert what the exercise asks about. An exercise that trains runs the recipe's cells up
to the training cell, then checks that the change took effect: the loss on one batch, a checkpoint folder of
its own. Only one training runs for real, notebook 02's, resumed after an interruption. A hint that names a
command, a file or a function is checked to exist and to do what it says.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = Path(__file__).resolve().parent / "exercises"
HEADER = re.compile(r"^# %% (\d+)(?: (parameters)| instead of: (.+))?$")
TRAINING_CELL = r"trainer\.train\("


class Block(NamedTuple):
    """One block of a solution file: ``kind`` is "parameters", "instead of" (``target``: a line's start) or "after"."""

    kind: str
    target: str | None
    code: str


def solutions(number: str) -> dict[int, list[Block]]:
    """The blocks of ``tests/exercises/<number>.py``, by exercise number."""
    blocks: dict[int, list[Block]] = {}
    current = None
    for line in (EXERCISES / f"{number}.py").read_text().splitlines():
        if header := HEADER.match(line):
            kind = header[2] or ("instead of" if header[3] else "after")
            current = Block(kind, header[3], [])
            blocks.setdefault(int(header[1]), []).append(current)
        elif current is not None:
            current.code.append(line)
    return {
        n: [b._replace(code="\n".join(b.code).strip() + "\n") for b in bs]
        for n, bs in blocks.items()
    }


def with_assignments(source: str, code: str) -> str:
    """The parameters cell ``source`` with each ``NAME = value`` of ``code`` replacing NAME's assignment, or, where
    NAME is not assigned alone (notebook 05's ``SEED``, unpacked from a tuple), added before ``check_knobs``."""
    for statement in ast.parse(code).body:
        name = statement.targets[0].id
        text = ast.get_source_segment(code, statement)
        lines, tree = source.splitlines(), ast.parse(source)
        assigned = [
            n
            for n in tree.body
            if isinstance(n, ast.Assign) and [getattr(t, "id", None) for t in n.targets] == [name]
        ]
        if assigned:
            node = assigned[0]
            lines[node.lineno - 1 : node.end_lineno] = [text]
        else:
            checks = [n for n in tree.body if "check_knobs(" in ast.get_source_segment(source, n)]
            lines.insert(checks[-1].lineno - 1, text)
        source = "\n".join(lines)
    return source


class Notebook:
    """A notebook's code cells (not the install cell) run in one namespace in this process, with changes."""

    def __init__(self, number: str, runs: Path):
        path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
        self.runs = runs  # the runs folder its cells see
        cells = nbformat.read(path, as_version=4).cells
        self.number = number
        self.cells = [
            c.source for c in cells if c.cell_type == "code" and "%pip install" not in c.source
        ]
        self.blocks = solutions(number)
        self.ns: dict[str, object] = {"__name__": "__main__"}

    def __getitem__(self, name: str):
        return self.ns[name]

    def changed(self, source: str, exercises) -> str:
        """``source`` with the exercises' changes: the parameters cell's knobs, the lines they replace."""
        for block in (b for n in exercises for b in self.blocks[n]):
            if block.kind == "parameters" and re.search(r"^PROFILE = ", source, re.M):
                source = with_assignments(source, block.code)
            elif block.kind == "instead of":
                lines = []
                for line in source.splitlines():
                    indent = line[: len(line) - len(line.lstrip())]
                    if line.lstrip().startswith(block.target):
                        lines += [indent + new for new in block.code.splitlines()]
                    else:
                        lines.append(line)
                source = "\n".join(lines)
        return source

    def exec(self, source: str) -> str:
        """Run ``source`` as a cell; what it printed."""
        os.environ["MRL_RUNS_DIR"] = str(self.runs)  # read by the parameters cell
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            exec(compile(source, f"<notebook {self.number}>", "exec"), self.ns)
        return printed.getvalue()

    def run(self, *exercises: int, stop_at: str | None = None) -> Notebook:
        """Every code cell top to bottom ("Run all"), with ``exercises``' changes; with ``stop_at``, only the
        cells above the first one it matches. Each change must find its place in the notebook."""
        for n in exercises:
            for block in self.blocks[n]:
                if block.kind == "instead of":
                    found = any(
                        line.lstrip().startswith(block.target)
                        for cell in self.cells
                        for line in cell.splitlines()
                    )
                    assert found, (
                        f"exercise {n}: no line of notebook {self.number} starts with {block.target!r}"
                    )
        for source in self.cells:
            if stop_at and re.search(stop_at, source, re.MULTILINE):
                break
            self.exec(self.changed(source, exercises))
        return self

    def cell(self, pattern: str, *exercises: int) -> str:
        """Run the one code cell matching ``pattern`` again, with ``exercises``' changes; what it printed."""
        found = [c for c in self.cells if re.search(pattern, c, re.MULTILINE)]
        assert len(found) == 1, f"notebook {self.number}: {pattern!r} matches {len(found)} cells"
        return self.exec(self.changed(found[0], exercises))

    def solve(self, n: int) -> str:
        """Run exercise ``n``'s cells that come after the notebook's own; what they printed."""
        return "".join(self.exec(b.code) for b in self.blocks[n] if b.kind == "after")


def link_or_copy(source: Path, target: Path) -> None:
    """A copy of ``source`` to change freely: models and checkpoints hard-linked (they are only ever replaced
    whole, never written in place, so only the copy's links change), everything else copied."""
    source = Path(source)

    def copy(src: str, dst: str) -> None:
        if {"models", "checkpoints"} & set(Path(src).relative_to(source).parts):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=copy)


def stats(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Each file's inode, size and modification time: a file written in place, or replaced, changes them."""
    return {
        str(p): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def runs(notebook_runs, request, tmp_path_factory):
    """A function: a fresh copy of the runs tests/test_rerun.py saved, for one notebook's exercises (notebook 01's
    exercise 1 changes the baseline's sizes that notebook 03 compares). The originals are compared at the end."""
    if not list((notebook_runs / "smoke" / "models").glob("matryoshka_2d_*layers")):
        message = "needs the runs of tests/test_rerun.py's notebooks 01-10, which did not finish"
        if any(item.path.name == "test_rerun.py" for item in request.session.items):
            pytest.fail(message)
        pytest.skip(f"{message}: run it with tests/test_rerun.py")

    def fresh() -> Path:
        copy = tmp_path_factory.mktemp("exercises") / "runs"
        link_or_copy(notebook_runs, copy)
        return copy

    return fresh


@pytest.fixture(scope="module", autouse=True)
def smoke(tmp_path_factory):
    """The smoke profile, an empty working folder, no plot windows; each notebook sets its runs folder."""
    import matplotlib.pyplot as plt

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MRL_PROFILE", "smoke")
        patch.setenv("MRL_RUNS_DIR", "")
        patch.chdir(tmp_path_factory.mktemp("work"))
        yield
        plt.close("all")


@pytest.fixture(scope="module")
def before(notebook_runs):
    return stats(notebook_runs)


def fresh_start(nb: Notebook) -> tuple[Path, str | None, dict]:
    """The checkpoint folder the training cell would use, the checkpoint it would resume, the recipe."""
    from sentence_transformers import SentenceTransformerTrainer
    from transformers.trainer_utils import get_last_checkpoint

    from helpers.training import recipe_folder, recipe_of

    trainer = SentenceTransformerTrainer(
        model=nb["model"], args=nb["args"], train_dataset=nb["train_rows"], loss=nb["loss"]
    )
    recipe = recipe_of(trainer, nb["MODEL"], nb["PCA_FIT_TEXTS"])
    folder = Path(recipe_folder(nb["CHECKPOINT_DIR"], recipe))
    return folder, get_last_checkpoint(str(folder)) if folder.is_dir() else None, recipe


def one_batch(nb: Notebook, loss, seed: int = 0) -> float:
    """``loss`` on the first 8 training triplets, dropout off, layers drawn with ``random`` at ``seed``."""
    import torch

    model, rows = nb["model"], nb["train_rows"][:8]
    features = [model.preprocess(rows[c]) for c in ("query", "positive", "negative")]
    model.eval()
    random.seed(seed)
    with torch.no_grad():
        return float(loss(features, None))


def saved_metric(runs_test: Path, model: str, metric: str) -> pd.Series:
    return pd.read_csv(runs_test / f"metrics_{model}.csv").set_index("dim")[metric]


# ---- 01 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb01(before, runs):
    return Notebook("01", runs()).run(1, stop_at=r"^ood = load_ood_benchmark")  # in domain


def test_01_1_eval_dims_off_the_powers_of_two_evaluate_every_size_given(nb01):
    from helpers.evaluation import matryoshka_dims

    table = nb01["baseline"]
    assert table["dim"].tolist() == [384, 192, 96, 64, 48, 24]
    assert table["mrr@10"].between(0, 1).all()
    assert (nb01["TEST_DIR"] / "run_baseline_dim192.txt").is_file()
    # the hint: set it back before notebook 03, whose comparison needs the default sizes' rows
    saved = saved_metric(nb01["TEST_DIR"], "baseline", "mrr@10")
    assert not set(matryoshka_dims(384)) <= set(saved.index)


def test_01_2_the_hints_rank_and_score_indices_rank_raw_prefixes(nb01):
    from helpers.evaluation import normalized_prefix, rank, score_indices

    nb01.solve(2)
    query_emb, corpus_emb, test = nb01["query_emb"], nb01["corpus_emb"], nb01["test"]
    assert 0 <= nb01["raw_64"]["mrr@10"] <= 1
    # the hint's two functions score a ranking as the table did: renormalised, they give its 64-d row
    idx, _ = rank(normalized_prefix(query_emb, 64), normalized_prefix(corpus_emb, 64), 10)
    assert score_indices(idx, test)["mrr@10"] == pytest.approx(nb01["by_dim"][64])


def test_01_3_the_last_64_coordinates_are_scored_like_the_first(nb01):
    nb01.solve(3)
    last = nb01["last_64"]
    assert last["dim"].tolist() == [64] and 0 <= last["mrr@10"][0] <= 1


def test_01_4_an_uncentred_pca_rotation_leaves_the_full_size_row_as_the_baseline_on_dev(nb01):
    nb01.solve(4)
    on_dev, dev, test = nb01["on_dev"], nb01["dev"], nb01["test"]
    assert dev.corpus == test.corpus  # the hint: dev searches the same corpus
    assert on_dev.index.tolist() == nb01["DIMS"]
    full = max(nb01["DIMS"])  # a rotation keeps every angle: the full size ranks as before
    assert on_dev.loc[full, "uncentred"] == pytest.approx(on_dev.loc[full, "baseline"])


# ---- 02 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb02(before, runs):
    return Notebook("02", runs())


def test_02_3_interrupted_after_a_checkpoint_the_training_cell_resumes_from_it_and_says_so(nb02):
    from sentence_transformers import SentenceTransformer

    nb02.run(stop_at=TRAINING_CELL)
    [folder] = [p for p in nb02["CHECKPOINT_DIR"].iterdir() if p.is_dir()]  # the clean run's recipe
    steps = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert len(steps) == 2, steps
    shutil.rmtree(steps[-1])  # interrupted after the one before was written (in the copy)
    printed = nb02.cell(TRAINING_CELL)
    last_line = printed.strip().splitlines()[-1]
    assert last_line.endswith(f"from {steps[0]}")  # the hint: the last line names it
    assert re.match(r"\d+ steps in \d+ s, ", last_line)  # exercise 2's hint: steps and seconds
    assert nb02["trainer"].state.global_step == int(steps[-1].name.split("-")[1])
    assert "last loss" in nb02.solve(3)
    texts = ["a handsaw with a thin blade", "what is a small boat used for fishing"]
    clean = SentenceTransformer(str(nb02["MODEL_DIR"]))  # tests/test_rerun.py's uninterrupted run
    assert np.allclose(nb02["model"].encode(texts), clean.encode(texts), atol=1e-5)


def test_02_1_2_and_4_changed_knobs_pass_their_checks_and_each_trains_in_a_folder_of_its_own(nb02):
    import json

    nb02.run(1, 2, 4, stop_at=TRAINING_CELL)  # at once: each changes its own part of the recipe
    profile = nb02["PROFILE"]
    assert nb02["DIMS"] == [384, 64] and list(nb02["loss"].matryoshka_dims) == [384, 64]  # 1
    args = nb02["args"]
    assert args.per_device_train_batch_size == 2 * profile.batch_size  # 2
    assert args.learning_rate == profile.learning_rate / 2
    assert "Dense" not in [type(m).__name__ for m in nb02["model"]]  # 4: no rotation
    folder, resume, recipe = fresh_start(nb02)
    assert resume is None, f"{folder} would resume another recipe's checkpoint {resume}"
    clean = json.loads((nb02["MODEL_DIR"] / "recipe.json").read_text())  # tests/test_rerun.py's
    changed = {key for key, value in recipe.items() if clean[key] != value}
    mine = {"matryoshka_dims", "batch_size", "learning_rate", "pca_fit_texts", "modules"}
    mine |= {"loss_config"}  # the loss's own record of its sizes
    assert (
        changed == mine
    )  # so each exercise alone checkpoints (and resumes) in a folder of its own


def test_02_4_the_dev_choices_variant_the_hint_names_trains_it_at_the_studys_batch(tmp_path):
    bench = ROOT / "benchmarks"
    listed = subprocess.run(
        [sys.executable, str(bench / "dev_choices.py"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert {"default: notebook 02 offline recipe", "no_pca_start: {'pca_fit_texts': 0}"} <= set(
        listed
    )
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location("dev_choices", bench / "dev_choices.py")
        dev_choices = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(dev_choices)
    finally:
        sys.path.remove(str(bench))
    from helpers.profiles import PROFILES

    # the hint: the study's start trains at batch 32 where notebook 02 trains at 64, and compares with default
    assert dev_choices.VARIANTS["no_pca_start"] == {"pca_fit_texts": 0}
    assert dev_choices.STUDY_START["offline"] == {"batch_size": 32}
    assert PROFILES["offline"].batch_size == 64
    # "compares them query by query": once default's run files are there, as the command line runs it first
    trec = tmp_path / "trec"
    trec.mkdir()
    queries = [f"q{i}" for i in range(6)]
    (trec / "qrels.txt").write_text("".join(f"{q} 0 d{q} 1\n" for q in queries))
    for name, ranks in (("default", [1, 2, 1, 3, 1, 1]), ("no_pca_start", [2, 1, 1, 1, 4, 1])):
        for dim in dev_choices.DIMS:
            lines = [
                f"{q} Q0 {'d' + q if r == rank else f'x{r}'} {r} {1 - r / 10} {name}\n"
                for q, rank in zip(queries, ranks, strict=True)
                for r in range(1, 6)
            ]
            (trec / f"run_{name}_dim{dim}.txt").write_text("".join(lines))
    compared = dev_choices.with_differences({"variant": "no_pca_start"}, trec)["vs_default"]
    assert sorted(compared) == sorted(dev_choices.DIMS)
    mean_difference = np.mean([1 / r for r in (2, 1, 1, 1, 4, 1)]) - np.mean(
        [1, 0.5, 1, 1 / 3, 1, 1]
    )
    assert compared[64][0] == pytest.approx(mean_difference, abs=1e-4)


# ---- 03 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb03(before, runs):
    return Notebook("03", runs()).run(1)


def test_03_1_recall_at_10_fills_the_comparison_table(nb03):
    assert nb03["METRIC"] == "recall@10"
    table, test_dir = nb03["table"], nb03["TEST_DIR"]
    for model in ("baseline", "matryoshka"):
        saved = saved_metric(test_dir, model, "recall@10")
        assert table[model].to_dict() == pytest.approx(saved[table.index].to_dict())
    assert {"change", "retention_%_baseline", "retention_%_matryoshka"} <= set(table.columns)


def test_03_2_the_trec_files_the_hint_names_give_the_notebooks_mrr_at_64(nb03):
    """What ranx does with them (``kind="trec"``), without ranx: relevant = a qrels line with relevance > 0, the
    run ranked by score; MRR@10 = mean over queries of 1 / the rank of the first relevant in the top 10."""
    test_dir = nb03["TEST_DIR"]
    read = dict(sep=r"\s+", header=None, dtype={0: str, 2: str})
    qrels = pd.read_csv(test_dir / "qrels.txt", **read)
    relevant = qrels[qrels[3] > 0].groupby(0)[2].agg(set)
    run = pd.read_csv(test_dir / "run_matryoshka_dim64.txt", **read)
    assert run[1].eq("Q0").all() and len(run.columns) == 6
    reciprocal = []
    for qid, rows in run.sort_values(4, ascending=False, kind="stable").groupby(0, sort=False):
        ranks = [r for r, doc in enumerate(rows[2].head(10), 1) if doc in relevant.get(qid, ())]
        reciprocal.append(1 / ranks[0] if ranks else 0.0)
    assert len(reciprocal) == len(relevant)
    assert np.mean(reciprocal) == pytest.approx(saved_metric(test_dir, "matryoshka", "mrr@10")[64])


def test_03_2_with_ranx_installed_as_the_hint_says(nb03):
    pytest.importorskip("ranx", reason="ranx is the exercise's own install (`%pip install ranx`)")
    nb03.solve(2)
    expected = nb03["matryoshka"].set_index("dim")["mrr@10"][64]
    assert nb03["ranx_mrr"] == pytest.approx(expected)


# ---- 04 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb04(before, runs):
    return Notebook("04", runs()).run(1)


def test_04_1_a_size_never_trained_loads_and_scores_between_its_neighbours(nb04):
    from helpers.evaluation import normalized_prefix

    index_small = nb04["index_small"]
    assert index_small.shape[1] == 48 and (nb04["RUN_DIR"] / "index_dim48.npy").is_file()
    assert np.abs(normalized_prefix(nb04["full"], 48) - index_small).max() < 1e-4
    nb04.solve(1)
    table = nb04["around_48"].set_index("dim")["mrr@10"]
    assert table.index.tolist() == [64, 48, 32]
    saved = saved_metric(nb04["RUN_DIR"] / "test", "matryoshka", "mrr@10")
    assert table[[64, 32]].tolist() == pytest.approx(saved[[64, 32]].tolist())  # notebook 03's rows


def test_04_2_a_float16_index_is_half_the_bytes(nb04):
    nb04.solve(2)
    assert nb04["index_half"].nbytes * 2 == nb04["index_small"].nbytes
    assert nb04["idx_half"].shape == nb04["idx"].shape == (1, 3)


# ---- 05 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb05(before, runs):
    return Notebook("05", runs()).run(1, stop_at=TRAINING_CELL)


def files_as_standard(nb: Notebook) -> bool:
    """Whether the evaluation cells name the model they score ``standard``, whatever MODEL_DIR is."""
    return any(re.search(r'evaluate_embeddings\([^)]*"standard"', cell) for cell in nb.cells)


def test_05_1_a_second_seed_trains_afresh_into_its_own_folder(nb05):
    assert files_as_standard(nb05)  # the hint: copy test/metrics_standard.csv aside first
    assert (nb05["TEST_DIR"] / "metrics_standard.csv").is_file()
    assert nb05["SEED"] == 7 and nb05["args"].seed == 7 and nb05["args"].data_seed == 7
    assert nb05["MODEL_DIR"].name == "standard_seed7"
    folder, resume, _ = fresh_start(nb05)
    assert resume is None
    assert any(p != folder for p in nb05["CHECKPOINT_DIR"].iterdir())  # the first seed's stays


def test_05_2_matryoshka_weights_weight_each_size_and_the_dev_line_scores_it(nb05):
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss

    nb05.cell(r"^PROFILE = ", 2)
    nb05.cell(r"^loss = base_loss", 2)
    nb05.cell(r"^args = training_arguments")
    loss, base, dims = nb05["loss"], nb05["base_loss"], nb05["DIMS"]
    assert list(loss.matryoshka_weights) == [1, 1, 1, 2, 2] and nb05["MODEL_DIR"].name == "weighted"
    assert fresh_start(nb05)[1] is None
    # weights [1, 1, 1, 2, 2] add the two smallest sizes' losses once more
    plain = one_batch(nb05, MatryoshkaLoss(nb05["model"], base, matryoshka_dims=dims))
    small = MatryoshkaLoss(
        nb05["model"], base, matryoshka_dims=dims, matryoshka_weights=[0, 0, 0, 1, 1]
    )
    assert one_batch(nb05, loss) == pytest.approx(plain + one_batch(nb05, small), rel=1e-5)
    nb05.solve(2)
    assert nb05["on_dev"]["weighted"].index.tolist() == dims
    assert set(nb05["on_dev"]) == {"weighted", "matryoshka"}


# ---- 06 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb06(before, runs):
    return Notebook("06", runs()).run(1)


def test_06_1_a_16_d_prefix_shortlists_up_to_the_corpus_size(nb06):
    n_corpus, adaptive = nb06["n_corpus"], nb06["adaptive"]
    assert nb06["shortlist_k"] == [k for k in [10, 20, 50, 100, 200, 500] if k <= n_corpus]
    assert sorted(adaptive["shortlist_dim"].unique()) == [16, 32, 64]
    assert nb06["axes"][1].get_ylabel() == "recall@10"  # the hint's right-hand plot
    assert adaptive["recall@10"].between(0, 1).all()
    nb06.solve(1)
    assert set(nb06["recall"].index.get_level_values("shortlist_dim")) == {16, 32, 64}


def test_06_2_an_hnsw_first_stage_answers_every_query_with_a_full_shortlist(nb06):
    from helpers.evaluation import normalized_prefix

    nb06.solve(2)
    k_chosen, prefix_dim = nb06["k_chosen"], nb06["PREFIX_DIM"]
    _, shortlist = nb06["hnsw"].search(normalized_prefix(nb06["query_full"], prefix_dim), k_chosen)
    assert (shortlist >= 0).all()  # -1 would be "not found", read as the last passage
    table, adaptive = nb06["hnsw_vs_flat"], nb06["adaptive"]
    exact = adaptive[
        (adaptive["split"] == "test")
        & (adaptive["shortlist_dim"] == prefix_dim)
        & (adaptive["k_shortlist"] == k_chosen)
    ]["mrr@10"]
    assert table.loc["flat", "mrr@10"] == pytest.approx(
        exact.iloc[0]
    )  # flat FAISS = the numpy funnel
    assert (table["median_ms"] > 0).all() and 0 <= table.loc["hnsw", "mrr@10"] <= 1


# ---- 07 --------------------------------------------------------------------------------------------


def test_07_1_with_one_candidate_per_result_rescoring_only_reorders_what_the_codes_found(
    before, runs
):
    nb = Notebook("07", runs()).run(1)
    nb.solve(1)
    assert nb["RESCORE_MULTIPLIER"] == 1
    assert nb["same_passages"] and all(nb["same_passages"].values()), nb["same_passages"]


def test_07_2_int8_ranges_from_a_sample_are_what_calibration_embeddings_does(before, runs):
    from sentence_transformers import quantize_embeddings

    nb = Notebook("07", runs()).run(2)
    sample_grid = nb["grid"].copy()
    nb.cell(r"^def top10_by_precision")  # as the notebook has it: ranges from the whole corpus
    nb.cell(r"^rows = \[\]")
    n_corpus = len(nb["corpus_full"])
    if n_corpus <= 1000:  # the smoke corpus: its first 1,000 passages are all of it
        pd.testing.assert_frame_equal(sample_grid[nb["grid"].columns], nb["grid"])
    corpus = nb["corpus_full"]
    sample = corpus[: n_corpus // 3]  # the hint's equivalence, on a sample smaller than the corpus
    ranges = np.vstack([sample.min(axis=0), sample.max(axis=0)])
    by_ranges = quantize_embeddings(corpus, precision="int8", ranges=ranges)
    by_sample = quantize_embeddings(corpus, precision="int8", calibration_embeddings=sample)
    assert np.array_equal(by_ranges, by_sample)
    whole = quantize_embeddings(corpus, precision="int8", calibration_embeddings=corpus)
    assert np.isin(by_sample, [-128, 127]).sum() > np.isin(whole, [-128, 127]).sum()  # clipped


# ---- 08 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb08(before, runs):
    nb = Notebook("08", runs())
    try:
        yield nb.run(1, stop_at=r"^conn = stop_postgres")
    finally:
        if "conn" in nb.ns:
            nb.cell(r"^conn = stop_postgres")


def test_08_1_a_shortlist_of_400_and_the_default_ef_search_cut(nb08):
    k, n_corpus, demo_k = nb08["k_shortlist"], nb08["n_corpus"], nb08["demo_k"]
    assert k == min(400, n_corpus) and demo_k == min(max(100, k), n_corpus)
    rows_back = nb08["pitfall"][nb08["rows_back"]]
    assert rows_back.iloc[0] < demo_k == rows_back.iloc[1]  # the default ef_search (40) cuts it
    nb08.solve(1)
    against = nb08["against_100"]
    assert list(against.columns) == [k, 100] and against.loc["mrr@10"].between(0, 1).all()


def test_08_2_a_filter_after_the_hnsw_scan_returns_fewer_rows_until_iterative_scan(nb08):
    nb08.solve(2)
    default, iterative = nb08["rows_with_filter"].values()
    matching = sum(doc_id.endswith("0") for doc_id in nb08["doc_ids"])
    assert default < iterative == min(nb08["K"], matching)


def test_08_3_a_prefix_column_makes_the_table_larger_and_indexes_like_the_expression(nb08):
    nb08.solve(3)
    mib, table = nb08["column_mib"], nb08["TABLE"]
    assert mib[f"{table}_prefix_column"] > mib[table]
    assert mib[f"{table}_prefix_column_idx"] == pytest.approx(mib[f"{table}_prefix"], rel=0.5)


# ---- 09 --------------------------------------------------------------------------------------------


def test_09_the_search_for_a_recovering_query_and_binary_against_a_short_prefix(before, runs):
    from helpers.search import bytes_per_vector

    nb = Notebook("09", runs()).run()
    nb.solve(1)
    assert set(nb["recovers"]) <= set(nb["test"].queries.values())
    printed = nb.solve(2)
    full = max(nb["DIMS"])
    for dim, precision in ((full, "binary"), (64, "float32")):
        assert f"{dim} dims in {precision}: {bytes_per_vector(dim, precision)} bytes" in printed


# ---- 10 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb10(before, runs):
    return Notebook("10", runs()).run(1, stop_at=TRAINING_CELL)


def test_10_1_max_steps_minus_one_trains_notebook_02s_steps(nb10):
    import json

    assert nb10["MAX_STEPS"] == -1 and nb10["args"].max_steps == -1

    def last_step(name: str) -> int:
        states = (nb10.runs / "smoke" / "checkpoints" / name).glob(
            "*/checkpoint-*/trainer_state.json"
        )
        return max(json.loads(p.read_text())["global_step"] for p in states)

    assert last_step("matryoshka_2d") == last_step("matryoshka")  # the smoke profile's -1 already


def test_10_2_and_3_a_changed_loss_line_trains_in_its_own_checkpoint_folder(nb10):
    notebook_loss = nb10["loss"]
    before_change, resume, _ = fresh_start(nb10)
    assert resume is not None  # the clean run's, finished
    for n in (2, 3):
        nb10.cell(r"^PROFILE = ", n)
        nb10.cell(r"^loss = Matryoshka2dLoss", n)
        nb10.cell(r"^args = training_arguments")
        folder, resume, _ = fresh_start(nb10)
        # the hint: the recipe records the loss's arguments, so the changed loss trains afresh
        assert resume is None and folder.parent == before_change.parent
        assert folder.name != before_change.name
    assert nb10["loss"].kl_div_weight == 0  # exercise 3
    assert one_batch(nb10, nb10["loss"]) < one_batch(nb10, notebook_loss)  # without the KL term
    nb10.cell(r"^PROFILE = ", 2)
    nb10.cell(r"^loss = Matryoshka2dLoss", 2)
    assert nb10["loss"].loss.n_dims_per_step == 1  # exercise 2: the library's default
    nb10.cell(r"^def encode_by_depth")  # below the training cell
    nb10.solve(2)
    on_dev = nb10["on_dev"].pivot(index="model", columns="dim", values=nb10["METRIC"])
    assert on_dev.shape == (2 * len(nb10["LAYERS"]), len(nb10["EVAL_DIMS"]))  # both models


def test_10_4_the_cut_model_through_notebook_06s_funnel_end_to_end(nb10):
    assert any(
        re.search(r"^serve_dir = ", cell, re.MULTILINE) for cell in nb10.cells
    )  # the hint's name
    nb10.solve(4)
    served = nb10["served_full"]
    assert len(served[0].auto_model.encoder.layer) == nb10["SERVE_LAYERS"]
    assert nb10["end_to_end"]["median_ms"] > 0


def test_10_5_the_last_layer_kept_in_float32(nb10):
    import torch

    nb10.solve(5)
    candidates, depth = nb10["candidates"], nb10["depth"]
    layers = {name: m[0].auto_model.encoder.layer for name, m in candidates.items()}
    assert isinstance(layers["last layer float32"][depth - 1].intermediate.dense, torch.nn.Linear)
    assert not isinstance(layers["last layer float32"][0].intermediate.dense, torch.nn.Linear)
    assert not isinstance(layers["int8"][depth - 1].intermediate.dense, torch.nn.Linear)
    assert isinstance(
        layers["float32"][0].intermediate.dense, torch.nn.Linear
    )  # copied, not changed
    table = nb10["on_dev_5"]
    assert set(table) == set(candidates)
    assert all(0 <= row[nb10["METRIC"]] <= 1 and row["one query ms"] > 0 for row in table.values())


def test_the_exercises_left_the_runs_of_tests_test_rerun_py_as_they_were(before, notebook_runs):
    assert stats(notebook_runs) == before
