"""Run notebooks as Colab would: each in a fresh working directory, on this interpreter's kernel.

Run by tests/test_colab.py with the Colab simulation's Python (its Jupyter packages are Colab's):

    python run_each_on_its_own_machine.py OUT_DIR NOTEBOOK [NOTEBOOK ...]

Every notebook starts in its own empty folder under OUT_DIR/work/, as every Colab notebook starts
on its own machine; the only thing they share is the runs folder the environment names
(``MRL_RUNS_DIR``, Drive's part). Writes the executed copies to OUT_DIR/executed/ and a report
(seconds, error, the setup cell's output) to OUT_DIR/report.json.

``COLAB_SIM_SET`` (JSON, e.g. ``{"OWN_DATA": "/content/drive/MyDrive/pairs.csv", "OWN_COLUMNS": {...}}``) is
what a learner types into the first notebook's parameters cell: those knobs' lines are replaced there only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def cell_text(cell) -> str:
    """Everything a code cell printed (streams, results, errors) as plain text."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return "".join(parts)


def set_knobs(nb, values: dict) -> None:
    """Replace ``NAME = ...`` lines of the parameters cell by ``NAME = <value>``, as a learner edits them."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and "check_knobs(" in c.source)
    lines = cell.source.split("\n")
    for name, value in values.items():
        (at,) = [i for i, line in enumerate(lines) if line.startswith(f"{name} = ")]
        lines[at] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)


def run(notebook: Path, out_dir: Path, knobs: dict | None = None) -> dict[str, object]:
    work = out_dir / "work" / notebook.stem
    work.mkdir(parents=True)
    nb = nbformat.read(notebook, as_version=4)
    if knobs:
        set_knobs(nb, knobs)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as failure:
        error = str(failure).strip().splitlines()[-1]
    seconds = time.perf_counter() - start
    (out_dir / "executed").mkdir(exist_ok=True)
    nbformat.write(nb, out_dir / "executed" / notebook.name)
    setup = next(c for c in nb.cells if "%pip install" in c.source)
    return {
        "notebook": notebook.name,
        "seconds": round(seconds, 1),
        "error": error,
        "setup_output": cell_text(setup),
        "left_in_work_dir": sorted(str(p.relative_to(work)) for p in work.rglob("*")),
    }


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    report = []
    for number, notebook in enumerate(map(Path, argv[1:])):
        if number and os.environ.get("MRL_COURSE_WHEEL"):
            # The first notebook builds the course from its sources, as Colab's install from the repository does;
            # the others reinstall the wheel that build made (the same files, ~8 s less per notebook): the
            # kernel inherits this variable, so their setup cell's `%pip install` runs on it.
            os.environ["MRL_COURSE_SOURCE"] = os.environ["MRL_COURSE_WHEEL"]
        knobs = json.loads(os.environ.get("COLAB_SIM_SET", "{}")) if number == 0 else None
        report.append(run(notebook, out_dir, knobs))
        print(json.dumps(report[-1])[:500], flush=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
