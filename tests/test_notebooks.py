"""Notebook hygiene: stripped outputs, working Colab badges, the lesson shape, a python3 kernel.

The notebooks themselves run under `pytest --nbmake notebooks` (see the Makefile's `test`).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat
import pytest
import tomllib

import helpers

REPO_URL = f"https://github.com/{helpers.REPO_SLUG}"
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
    installs = [
        c.source for c in read(path).cells if c.cell_type == "code" and "%pip install" in c.source
    ]
    assert len(installs) == 1
    assert 'if "google.colab" in sys.modules:' in installs[0]
    assert f"git+{REPO_URL}.git" in installs[0]
    pip_line = next(line for line in installs[0].splitlines() if "%pip install" in line)
    assert not any(
        name in pip_line for name in ("torch", "numpy", "pandas", "pyarrow", "-U", "--upgrade")
    )
    # one install-source variable (tests/test_colab.py installs a checkout through it) and Drive
    assert (
        'os.environ.get(\n    "MRL_COURSE_SOURCE"' in installs[0]
        and "@ {COURSE_SOURCE}" in installs[0]
    )
    assert 'drive.mount("/content/drive")' in installs[0] and '"MRL_RUNS_DIR"' in installs[0]


def test_every_notebook_has_the_same_setup_cell_pinned_to_this_release():
    cells = {next(c.source for c in read(p).cells if "%pip install" in c.source) for p in NOTEBOOKS}
    assert len(cells) == 1
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f'{REPO_URL}.git@v{version}"' in cells.pop()  # the tag of this very release


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
        "load_dataset": "02_matryoshka_finetuning",
        "SentenceTransformer": "02_matryoshka_finetuning",
        "MultipleNegativesRankingLoss": "02_matryoshka_finetuning",
        "CachedMultipleNegativesRankingLoss": "02_matryoshka_finetuning",
        "MatryoshkaLoss": "02_matryoshka_finetuning",
        "SentenceTransformerTrainingArguments": "02_matryoshka_finetuning",
        "SentenceTransformerTrainer": "02_matryoshka_finetuning",
        "get_last_checkpoint": "02_matryoshka_finetuning",
        "InformationRetrievalEvaluator": "01_baseline_truncation_benchmark",
        "bootstrap": "01_baseline_truncation_benchmark",
        "IndexFlatIP": "06_adaptive_retrieval",
        "quantize_embeddings": "07_quantization_and_truncation",
        "semantic_search_faiss": "07_quantization_and_truncation",
    }
    by_notebook = {path.stem: calls(path) for path in NOTEBOOKS}
    for name, notebook in taught.items():
        assert name in by_notebook[notebook], (
            f"{name}(...) is not called in a code cell of {notebook}"
        )
    keywords = lambda call: {k.arg for k in call.keywords}  # noqa: E731
    nb01, nb02, nb04 = (
        by_notebook[n]
        for n in (
            "01_baseline_truncation_benchmark",
            "02_matryoshka_finetuning",
            "04_save_and_reload_truncate_dim",
        )
    )
    assert any("truncate_dim" in keywords(c) for c in nb01["InformationRetrievalEvaluator"])
    assert any("corpus_embeddings" in keywords(c) for c in nb01["ir_evaluator"])
    assert any("streaming" in keywords(c) for c in nb02["load_dataset"])
    assert any("resume_from_checkpoint" in keywords(c) for c in nb02["train"])
    assert any("truncate_dim" in keywords(c) for c in nb04["SentenceTransformer"])
    assert any("normalize_embeddings" in keywords(c) for c in nb04["encode"])
    args = nb02["SentenceTransformerTrainingArguments"][0]
    assert {"batch_sampler", "report_to", "prompts", "save_steps", "warmup_steps"} <= keywords(args)
    assert "save_pretrained" in nb02


def test_every_generated_helpers_module_is_what_the_notebooks_generate():
    """d2l's #@save: a function a later notebook reuses is written in its notebook, in a cell marked
    ``#| export <module>``; ``make export`` writes helpers/<module>.py from those cells, comments included."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import export_notebook_code
    finally:
        sys.path.pop(0)
    generated = export_notebook_code.generated()
    assert {p.name for p in generated} == {"recipe.py", "search.py", "intervals.py"}
    for path, text in generated.items():
        assert path.read_text() == text, f"{path.name} is stale: run make export"
        assert "Generated by tools/export_notebook_code.py" in text.splitlines()[0]
    # a hand edit to a generated file, or a changed comment in its cell, is caught
    edited = generated[ROOT / "helpers" / "recipe.py"].replace("# every device's", "# all devices'")
    assert (
        edited == generated[ROOT / "helpers" / "recipe.py"]
        or edited != (ROOT / "helpers" / "recipe.py").read_text()
    )
    for module in sorted((ROOT / "helpers").glob("*.py")):
        if module not in generated:
            assert "Defined in notebook" not in module.read_text(), (
                f"{module.name}: a hand-kept copy"
            )


def recipe_calls(path) -> list[str]:
    """Notebook 02's recipe as called: the top-level statements from start_model(...) to the save."""
    statements = []
    for cell in (c for c in read(path).cells if c.cell_type == "code"):
        source = re.sub(r"(?m)^(\s*)%", r"\1# %", cell.source)
        statements += [
            ast.unparse(n) for n in ast.parse(source).body if not isinstance(n, ast.FunctionDef)
        ]
    start = next(i for i, s in enumerate(statements) if s.startswith("model = start_model("))
    end = next(
        i for i, s in enumerate(statements) if s.startswith("with whole_or_nothing(MODEL_DIR")
    )
    return statements[start : end + 1]


ARGUMENTS_02 = "args = training_arguments(CHECKPOINT_DIR, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, epochs=EPOCHS, warmup=WARMUP, precision=PRECISION, query_prompt=QUERY_PROMPT, seed=SEED)"  # noqa: E501


@pytest.mark.parametrize(
    "number, changes",
    [
        (
            "05",
            [("loss = MatryoshkaLoss(model, base_loss, matryoshka_dims=DIMS)", "loss = base_loss")],
        ),
        (
            "10",  # the loss, and the one size its offline profile shortens (said in the notebook)
            [
                (
                    "loss = MatryoshkaLoss(model, base_loss, matryoshka_dims=DIMS)",
                    "loss = Matryoshka2dLoss(model, base_loss, matryoshka_dims=DIMS, n_dims_per_step=-1)",
                ),
                (ARGUMENTS_02, ARGUMENTS_02[:-1] + ", max_steps=MAX_STEPS)"),
            ],
        ),
    ],
)
def test_a_variant_runs_notebook_02s_recipe_with_the_loss_line_changed(number, changes):
    ours, variant = (
        recipe_calls(NOTEBOOKS[1]),
        recipe_calls(next(p for p in NOTEBOOKS if p.name.startswith(number))),
    )
    assert len(ours) == len(variant)
    assert [(a, b) for a, b in zip(ours, variant, strict=True) if a != b] == changes


def test_notebook_02_reads_like_matryoshka_nli():
    """Numbered steps; the arguments one keyword per line under required/optional/tracking comments;
    the loss one line; training is get_last_checkpoint + trainer.train(resume_from_checkpoint=...);
    saving is model.save_pretrained."""
    cells = [c.source for c in read(NOTEBOOKS[1]).cells if c.cell_type == "code"]
    steps = [int(m[1]) for s in cells if (m := re.match(r"# (\d)\. ", s))]
    assert steps == [1, 2, 3, 4, 5, 6]
    (arguments,) = [s for s in cells if "SentenceTransformerTrainingArguments(" in s]
    body = arguments[arguments.index("SentenceTransformerTrainingArguments(") :].splitlines()[1:-1]
    groups = [line.strip() for line in body if line.strip().startswith("#")]
    assert groups == [
        "# Required parameter:",
        "# Optional training parameters:",
        "# Optional tracking/debugging parameters:",
    ]
    assert all(
        line.strip().startswith("#") or "=" in line and line.split("  #")[0].rstrip().endswith(",")
        for line in body
    )
    (loss,) = [s for s in cells if s.startswith("# 3. ")]
    assert sum(line.startswith("loss = MatryoshkaLoss(") for line in loss.splitlines()) == 1
    (train,) = [s for s in cells if s.startswith("# 5. ")]
    assert (
        "get_last_checkpoint(args.output_dir)" in train
        and "trainer.train(resume_from_checkpoint=" in train
    )
    (save,) = [s for s in cells if s.startswith("# 6. ")]
    assert "model.save_pretrained(" in save


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_ends_with_recap_exercises_references_next(path):
    text = "\n".join(c.source for c in read(path).cells)
    marks = [text.find(m) for m in ("## Recap", "## Exercises", "## References", "**Next:**")]
    assert -1 not in marks and marks == sorted(marks), marks
    assert "\n## " not in text[marks[-1] :] and read(path).cells[-1].cell_type == "markdown"


def test_helpers_holds_plumbing_and_generated_copies_under_1400_lines():
    lines = sum(len(p.read_text().splitlines()) for p in (ROOT / "helpers").rglob("*.py"))
    assert lines < 1400, f"helpers/ has {lines} lines; the lessons belong in the notebooks"


def code_lines(path) -> list[tuple[int, str]]:
    return [
        (i, line)
        for i, c in enumerate(read(path).cells)
        if c.cell_type == "code"
        for line in c.source.splitlines()
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_fits_the_screen_in_short_cells(path):
    """Notebook code: no line over 100 characters (they wrap in Colab on a laptop), no cell over 30 lines."""
    long = [(i, len(line)) for i, line in code_lines(path) if len(line) > 100]
    assert not long, f"{path.name}: cells with lines over 100 characters: {long}"
    cells = read(path).cells
    tall = [(i, len(c.source.splitlines())) for i, c in enumerate(cells) if c.cell_type == "code"]
    assert max(n for _, n in tall) <= 30, (
        f"{path.name}: cells over 30 lines: {[t for t in tall if t[1] > 30]}"
    )


def test_no_fmt_skip_anywhere_and_helpers_lines_fit_120():
    sources = [
        p
        for d in ("helpers", "course_data", "tests", "tools", "benchmarks", "scripts")
        for p in (ROOT / d).rglob("*.py")
    ]
    assert not [p.name for p in sources if "fmt: " + "skip" in p.read_text()]
    assert not [p.name for p in NOTEBOOKS if "fmt: " + "skip" in code_of(p)]
    long = [
        (p.name, n)
        for d in ("helpers", "course_data")
        for p in (ROOT / d).rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if len(line) > 120
    ]
    assert not long, long


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_setup_cell_is_folded_and_no_cell_only_checks(path):
    """Colab folds a cell with ``# @title`` and ``cellView: form``, JupyterLab with ``source_hidden``;
    the parameters cell ends with one call that checks its knobs; no cell consists of checks alone."""
    cells = read(path).cells
    (setup,) = [c for c in cells if c.cell_type == "code" and "%pip install" in c.source]
    assert setup.source.startswith("# @title Setup")
    assert setup.metadata.get("cellView") == "form" and setup.metadata["jupyter"]["source_hidden"]
    (params,) = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    number = path.name[:2]
    assert params.source.rstrip().splitlines()[-1].startswith(f'check_knobs("{number}", globals()')
    for cell in (c for c in cells if c.cell_type == "code" and c is not params):
        statements = ast.parse(re.sub(r"(?m)^(\s*)%", r"\1# %", cell.source)).body
        calls = [getattr(getattr(n, "value", None), "func", None) for n in statements]
        names = [getattr(f, "id", "") for f in calls]
        assert not (statements and all(n.startswith(("check_", "require_")) for n in names)), (
            cell.source
        )
