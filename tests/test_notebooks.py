"""Notebook hygiene: stripped outputs, working Colab badges, the lesson shape, a python3 kernel.

The notebooks themselves run under `pytest --nbmake notebooks` (see the Makefile's `test`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import tomllib

import helpers

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BADGE = re.compile(
    r"https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/main/(notebooks/[^)\s]+\.ipynb)"
)


def read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_stripped(path):
    for cell in read(path).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_badge_points_at_this_notebook(path):
    nb = read(path)
    badges = BADGE.findall(nb.cells[0].source)
    assert badges == [(helpers.REPO_SLUG, f"notebooks/{path.name}")]
    for slug, target in BADGE.findall("\n".join(c.source for c in nb.cells)):
        assert slug == helpers.REPO_SLUG and (ROOT / target).is_file()
    links = re.findall(r"\]\((\d\d_[^)]+\.ipynb)\)", "\n".join(c.source for c in nb.cells))
    assert all((path.parent / link).is_file() for link in links)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_shape(path):
    nb = read(path)
    text = [c.source for c in nb.cells]
    assert text[0].startswith("# ") and "What you'll learn" in text[0]
    assert any(s.startswith("## Setup") for s in text)
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert any("## Recap" in s for s in text) and any("## Exercises" in s for s in text)
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_install_cell_is_guarded_and_points_at_the_repo(path):
    installs = [c.source for c in read(path).cells if "%pip install" in c.source]
    assert len(installs) == 1
    assert 'if "google.colab" in sys.modules:' in installs[0]
    assert f"git+{helpers.REPO_URL}.git" in installs[0]
    pip_line = next(line for line in installs[0].splitlines() if "%pip install" in line)
    assert not any(name in pip_line for name in ("torch", "numpy", "pandas", "pyarrow", "-U", "--upgrade"))
    # one install-source variable (tests/test_colab.py installs a checkout through it) and Drive
    assert 'os.environ.get(\n    "MRL_COURSE_SOURCE"' in installs[0] and "@ {COURSE_SOURCE}" in installs[0]
    assert 'drive.mount("/content/drive")' in installs[0] and '"MRL_RUNS_DIR"' in installs[0]


def test_every_notebook_has_the_same_setup_cell_pinned_to_this_release():
    cells = {next(c.source for c in read(p).cells if "%pip install" in c.source) for p in NOTEBOOKS}
    assert len(cells) == 1
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f'{helpers.REPO_URL}.git@v{version}"' in cells.pop()  # the tag of this very release


def test_readme_badges_point_at_notebooks():
    readme = (ROOT / "README.md").read_text()
    found = BADGE.findall(readme)
    assert {target for _, target in found} == {f"notebooks/{p.name}" for p in NOTEBOOKS}
    assert all(slug == helpers.REPO_SLUG for slug, _ in found)


def code_of(path) -> str:
    """A notebook's code cells as Python (IPython magics commented out)."""
    cells = [c.source for c in read(path).cells if c.cell_type == "code"]
    return "\n".join(re.sub(r"(?m)^(\s*)%", r"\1# %", source) for source in cells)


def calls(path) -> dict[str, list[ast.Call]]:
    """Every call in a notebook's code cells, by the called name (``f(...)`` and ``x.f(...)``)."""
    found: dict[str, list[ast.Call]] = {}
    for node in ast.walk(ast.parse(code_of(path))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            found.setdefault(name, []).append(node)
    return found


def test_every_call_the_course_teaches_is_written_out_in_a_notebook():
    taught = {
        "MultipleNegativesRankingLoss": "02_matryoshka_finetuning",
        "CachedMultipleNegativesRankingLoss": "02_matryoshka_finetuning",
        "MatryoshkaLoss": "02_matryoshka_finetuning",
        "SentenceTransformerTrainingArguments": "02_matryoshka_finetuning",
        "SentenceTransformerTrainer": "02_matryoshka_finetuning",
        "InformationRetrievalEvaluator": "01_baseline_truncation_benchmark",
        "SentenceTransformer": "04_save_and_reload_truncate_dim",
        "quantize_embeddings": "07_quantization_and_truncation",
        "semantic_search_faiss": "07_quantization_and_truncation",
    }
    by_notebook = {path.stem: calls(path) for path in NOTEBOOKS}
    for name, notebook in taught.items():
        assert name in by_notebook[notebook], f"{name}(...) is not called in a code cell of {notebook}"
    keywords = lambda call: {k.arg for k in call.keywords}  # noqa: E731
    assert any(
        "truncate_dim" in keywords(c)
        for c in by_notebook["04_save_and_reload_truncate_dim"]["SentenceTransformer"]
    )
    assert any(
        "truncate_dim" in keywords(c)
        for c in by_notebook["03_re_evaluation"]["InformationRetrievalEvaluator"]
    )
    assert any(
        "resume_from_checkpoint" in keywords(c) for c in by_notebook["02_matryoshka_finetuning"]["train"]
    )
    assert any(
        "normalize_embeddings" in keywords(c)
        for c in by_notebook["04_save_and_reload_truncate_dim"]["encode"]
    )
    args = by_notebook["02_matryoshka_finetuning"]["SentenceTransformerTrainingArguments"][0]
    assert {"batch_sampler", "report_to", "prompts", "save_steps", "warmup_steps"} <= keywords(args)
    assert "save_pretrained" in by_notebook["02_matryoshka_finetuning"]


def test_notebook_05_is_notebook_02_with_one_line_changed_the_loss():
    def recipe(path):  # the code from the training data to the save
        sources = [c.source for c in read(path).cells if c.cell_type == "code"]
        start = next(i for i, s in enumerate(sources) if "load_benchmark(" in s)
        end = next(i for i, s in enumerate(sources) if "save_recipe(" in s)
        return "\n".join(sources[start : end + 1]).splitlines()

    ours, control = recipe(NOTEBOOKS[1]), recipe(NOTEBOOKS[4])
    changed = [(a, b) for a, b in zip(ours, control, strict=True) if a != b]
    assert len(ours) == len(control) and len(changed) == 1, changed
    assert changed[0][0].startswith("loss = MatryoshkaLoss(") and changed[0][1].startswith("loss = base_loss")
