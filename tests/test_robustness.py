"""What a careless learner does (bad knobs, kills mid-write, damaged files, two notebooks at once).

Each case reproduces the mistake (damaged files are written by the test, a kill is a raise inside
the write) and asserts the one sentence the learner gets and that nothing made earlier was lost.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.evaluation import load_embeddings, save_embeddings
from helpers.models import check_dims, check_truncate_dim, load_model, load_saved_model
from helpers.profiles import PACKAGED_MINILM
from helpers.results import read_metrics, read_params, save_metrics
from helpers.training import check_training_knobs, checkpoint_to_resume, replaced_atomically

RECIPE = {"batch_size": 16, "learning_rate": 1e-4}


def rows(model: str, dims=(384, 64), value: float = 0.5) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "dim": d, "mrr@10": value, "recall@10": value} for d in dims])


@pytest.fixture
def run_dir(tmp_path):
    """A runs folder with results in it: metrics, params, a TREC file, a model, a plot."""
    save_metrics(tmp_path, rows("baseline"), {"benchmark": "b1"})
    (tmp_path / "run_baseline_dim64.txt").write_text("q1 Q0 d1 1 0.9 baseline\n")
    (tmp_path / "models" / "standard").mkdir(parents=True)
    (tmp_path / "models" / "standard" / "modules.json").write_text("[]")
    (tmp_path / "plot.png").write_bytes(b"png")
    return tmp_path


def everything(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- data lost or a wrong result ------------------------------------------------------------


def test_checkpoint_dir_set_to_the_runs_folder_deletes_no_results(run_dir, capsys):
    (run_dir / "checkpoint-2").mkdir()
    (run_dir / "checkpoint-2" / "trainer_state.json").write_text("{}")
    before = {k: v for k, v in everything(run_dir).items() if not k.startswith("checkpoint-")}
    assert checkpoint_to_resume(run_dir, RECIPE) is None  # another recipe: starting afresh
    assert "starting afresh" in capsys.readouterr().out
    after = everything(run_dir)
    assert all(after[name] == content for name, content in before.items())  # metrics, model, plot kept
    assert not (run_dir / "checkpoint-2").exists()


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"learning_rate": -1}, "LEARNING_RATE=-1 must be a small positive number such as 2e-5."),
        ({"batch_size": 0}, "BATCH_SIZE=0 must be a positive whole number such as 32."),
        ({"batch_size": 8.5}, "BATCH_SIZE=8.5 must be a positive whole number such as 32."),
        ({"epochs": 0}, "EPOCHS=0 must be a positive whole number such as 1."),
        ({"warmup": 1.5}, "WARMUP=1.5 must be a fraction of the steps"),
        ({"batch_size": 128}, "fewer than BATCH_SIZE=128; lower the batch size"),
    ],
)
def test_bad_knobs_are_refused_before_any_checkpoint_is_touched(knobs, message):
    values = {"batch_size": 16, "learning_rate": 1e-4, "epochs": 1, "warmup": 0.1, "n_train": 64, **knobs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_training_knobs(**values)
    check_training_knobs(np.int64(16), 2e-5, np.int64(1), 0.0, 64)  # numpy ints are whole numbers too


def test_a_save_killed_half_way_leaves_the_old_model_and_recipe_together(tmp_path):
    model_dir = tmp_path / "matryoshka"
    with replaced_atomically(model_dir) as folder:
        (folder / "model.safetensors").write_text("old weights")
        (folder / "recipe.json").write_text('{"lr": 1}')
    with pytest.raises(KeyboardInterrupt), replaced_atomically(model_dir) as folder:
        (folder / "model.safetensors").write_text("new weights")
        raise KeyboardInterrupt  # killed before the recipe was written
    assert (model_dir / "model.safetensors").read_text() == "old weights"
    assert (model_dir / "recipe.json").read_text() == '{"lr": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["matryoshka"]  # no half-written folder left behind
    with replaced_atomically(model_dir) as folder:
        (folder / "model.safetensors").write_text("new weights")
    assert everything(model_dir) == {"model.safetensors": b"new weights"}


def test_wrong_shaped_embeddings_are_refused_everywhere_they_are_loaded(tmp_path):
    path = tmp_path / "matryoshka_corpus_full.npy"
    save_embeddings(path, np.zeros((150, 100)))
    with pytest.raises(
        ValueError,
        match=r"has shape \(150, 100\), but this benchmark has 150 passages and the model 384 dimensions; re-run notebook 03_re_evaluation",
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


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (rows("baseline", dims=(384, 384)), "dim 384 appears twice; list each size once."),
        (rows("baseline", dims=(384, 64.5)), r"dim=64.5 is not a positive whole number"),
        (rows("baseline", value=float("nan")), "Some metrics are NaN or infinite; nothing was saved."),
    ],
)
def test_bad_rows_never_reach_metrics_csv(run_dir, table, message):
    before = everything(run_dir)
    with pytest.raises(ValueError, match=message):
        save_metrics(run_dir, table, {"benchmark": "b1"})
    assert everything(run_dir) == before


def _save_many(run_dir: str, worker: int) -> None:
    for i in range(25):
        save_metrics(Path(run_dir), rows(f"w{worker}", dims=(i + 1,)), {"benchmark": "b1"})


def test_two_processes_saving_metrics_at_once_keep_every_row(tmp_path):
    workers = [
        multiprocessing.get_context("spawn").Process(target=_save_many, args=(str(tmp_path), w))
        for w in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert all(worker.exitcode == 0 for worker in workers)
    assert len(read_metrics(tmp_path)) == 4 * 25 and set(read_params(tmp_path)) == {"w0", "w1", "w2", "w3"}


def test_source_shards_are_written_once_and_whole(tmp_path):
    from helpers.data.synthetic import write_jsonl_shards

    rows_ = [{"query": f"q{i}", "positive": "p", "negative": "n"} for i in range(10)]
    first = write_jsonl_shards(rows_, tmp_path)
    stamps = [p.stat().st_mtime_ns for p in first]
    assert write_jsonl_shards(rows_, tmp_path) == first
    assert [p.stat().st_mtime_ns for p in first] == stamps  # unchanged shards are not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in first]  # no temp files left


def test_a_shard_is_never_opened_for_writing_in_place(tmp_path, monkeypatch):
    """A second process (two benchmark builds at once) must never read a half-written shard.

    The shards are written to a temporary file and renamed over the old one, so the shard path
    itself is never opened for writing: a reader sees the old file or the new one, whole.
    """
    from helpers.data.synthetic import write_jsonl_shards

    write_jsonl_shards([{"query": "q", "positive": "p", "negative": "n"}] * 4, tmp_path)
    real_open = Path.open

    def guarded(self, mode="r", *args, **kwargs):
        assert not (self.suffix == ".jsonl" and set(mode) & set("wa")), (
            f"{self.name} opened for writing in place"
        )
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    changed = [{"query": f"q{i}", "positive": "p", "negative": "n"} for i in range(6)]
    paths = write_jsonl_shards(changed, tmp_path)
    monkeypatch.undo()
    assert sum(len(p.read_text().splitlines()) for p in paths) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in paths]


# ---- traceback soup: one sentence naming the file and the notebook to re-run ---------------------


def test_incomplete_checkpoint_is_removed_with_a_note(tmp_path, capsys):
    folder = tmp_path / "ckpt"
    checkpoint_to_resume(folder, RECIPE)
    for step, complete in ((2, True), (4, False)):
        (folder / f"checkpoint-{step}").mkdir()
        if complete:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert checkpoint_to_resume(folder, RECIPE).endswith("checkpoint-2")
    assert "checkpoint-4 was cut off while being written: removed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("", "empty or not a CSV table"),
        ("model,di", "no model and dim columns"),
        ("model,dim,mrr@10\nbaseline,384,0.3\nbaseline,6", "a row is incomplete"),
    ],
    ids=["empty", "cut-in-header", "cut-in-row"],
)
def test_damaged_metrics_csv_names_the_file_and_the_notebook(tmp_path, content, what):
    (tmp_path / "metrics.csv").write_text(content)
    with pytest.raises(
        ValueError,
        match=f"metrics.csv is damaged \\({what}.*re-run notebook 01_baseline_truncation_benchmark",
    ):
        read_metrics(tmp_path)
    with pytest.raises(ValueError, match="metrics.csv is damaged"):
        save_metrics(tmp_path, rows("standard"), {"benchmark": "b1"})
    assert (tmp_path / "metrics.csv").read_text() == content  # not overwritten by the failed save


def test_damaged_params_json_names_the_file(tmp_path):
    (tmp_path / "params.json").write_text('{"baseline": {"benchm')
    with pytest.raises(
        ValueError, match=r"params.json is damaged \(not valid JSON\); delete it and re-run notebook 01"
    ):
        read_params(tmp_path)


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_damaged_model_weights_name_the_notebook(tmp_path, damage):
    saved = tmp_path / "matryoshka"
    load_model(PACKAGED_MINILM).save_pretrained(str(saved))
    weights = saved / "model.safetensors"
    if damage == "deleted":
        weights.unlink()
    else:
        weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(
        ValueError, match="are missing or damaged; re-run notebook 02_matryoshka_finetuning"
    ) as error:
        load_saved_model(saved, made_by="02_matryoshka_finetuning")
    assert error.value.__cause__ is None and error.value.__suppress_context__


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (64, "EVAL_DIMS=64 must be a list of sizes, e.g. [384, 256, 128, 64, 32]."),
        ([0], "EVAL_DIMS entry=0 must be a positive whole number such as 64."),
        ([384, 384], "EVAL_DIMS=[384, 384] lists a size twice"),
        ([], "EVAL_DIMS is empty"),
    ],
)
def test_dims_knobs_name_the_knob_the_learner_set(value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_dims(value, 384, knob="EVAL_DIMS")


def test_numpy_ints_are_valid_sizes():
    assert check_dims([np.int64(384), np.int32(64)], 384, knob="EVAL_DIMS") == [384, 64]
    assert check_truncate_dim(np.int64(64), 384) == 64
    assert type(check_truncate_dim(np.int64(64), 384)) is int


def test_hub_without_network_raises_one_sentence_without_the_chained_traceback(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="set MRL_PROFILE=offline") as error:
        load_model("BAAI/bge-base-en-v1.5")
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_hub_dataset_without_network_raises_one_sentence(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError(
            "Couldn't reach 'sentence-transformers/msmarco' on the Hub (LocalEntryNotFoundError)"
        )

    monkeypatch.setattr(datasets, "load_dataset", offline)
    from helpers.data.msmarco import stream_triplets

    with pytest.raises(
        ConnectionError, match="Cannot reach the Hugging Face hub.*MRL_PROFILE=offline"
    ) as error:
        stream_triplets(10)
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_notebook_05_checks_its_inputs_before_it_trains():
    """The parameters cell asks for notebook 01's and 03's rows, before the training cells run."""
    import nbformat

    nb = nbformat.read(
        Path(__file__).resolve().parent.parent / "notebooks" / "05_standard_vs_matryoshka.ipynb", 4
    )
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    check = next(
        i for i, s in enumerate(code) if 'load_results(RUN_DIR, ["baseline", "matryoshka"], None' in s
    )
    train = next(i for i, s in enumerate(code) if "trainer.train(" in s)
    assert check < train


def test_rows_missing_for_notebook_05_name_the_notebook(tmp_path):
    from helpers.results import load_results

    save_metrics(tmp_path, rows("baseline"), {"benchmark": "b1"})
    made_by = {"baseline": "01_baseline_truncation_benchmark", "matryoshka": "03_re_evaluation"}
    with pytest.raises(
        FileNotFoundError, match="No 'matryoshka' rows in .*; run notebook 03_re_evaluation first"
    ):
        load_results(tmp_path, ["baseline", "matryoshka"], None, made_by)


def test_notebook_02_checks_its_knobs_before_it_can_delete_a_checkpoint(run_dir):
    """LEARNING_RATE=-1 in notebook 02: the knob check runs before checkpoint_to_resume, and deletes nothing."""
    import nbformat

    nb = nbformat.read(
        Path(__file__).resolve().parent.parent / "notebooks" / "02_matryoshka_finetuning.ipynb", 4
    )
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert code.index("check_training_knobs(") < code.index("checkpoint_to_resume(CHECKPOINT_DIR")
    (run_dir / "ckpt" / "checkpoint-4").mkdir(parents=True)
    (run_dir / "ckpt" / "checkpoint-4" / "trainer_state.json").write_text("{}")
    (run_dir / "ckpt" / "recipe.json").write_text(json.dumps(RECIPE))
    before = everything(run_dir)
    with pytest.raises(ValueError, match="LEARNING_RATE=-1"):
        check_training_knobs(16, -1, 1, 0.1, 64)
    assert everything(run_dir) == before
