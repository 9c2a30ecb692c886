"""T1: wall time of the README's two commands, `make test` and `make run`, on this machine.

    python benchmarks/t1_wall_time.py [--runs-dir DIR] [--only test|run]

Runs them one after the other from the repository root, with ``MRL_RUNS_DIR`` pointing at an
empty folder (a fresh temporary one unless ``--runs-dir`` is given and empty), so nothing is
reused from an earlier run: ``make run`` trains both models from scratch. The virtual
environment is reused if it exists (``make`` creates it otherwise, which this then includes).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import RESULTS, emit

ROOT = Path(__file__).resolve().parent.parent


def timed(target: str, env: dict[str, str]) -> dict[str, object]:
    start = time.perf_counter()
    done = subprocess.run(
        ["make", target], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    tail = [line for line in done.stdout.splitlines() if line.strip()][-12:]
    return {
        "seconds": round(seconds, 1),
        "minutes": round(seconds / 60, 2),
        "returncode": done.returncode,
        "tail": tail,
    }


def commit() -> str:
    """The checkout measured: ``git rev-parse --short HEAD``, with ``-dirty`` when the tree has changes."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", type=Path)
    parser.add_argument("--only", choices=["test", "run"])
    args = parser.parse_args()
    runs = args.runs_dir or Path(tempfile.mkdtemp(prefix="t1-runs-"))
    if runs.exists() and any(runs.iterdir()):
        raise SystemExit(
            f"{runs} is not empty; remove it or pick another --runs-dir, so nothing is reused."
        )
    env = {**os.environ, "MRL_RUNS_DIR": str(runs)}
    # the checkout as it is before make runs: each command's result carries it
    measured = {"date": datetime.date.today().isoformat(), "commit": commit()}
    previous = RESULTS / "t1_wall_time.json"  # --only keeps the other command's last measurement
    kept = json.loads(previous.read_text()) if args.only and previous.is_file() else {}
    results = {name: kept[name] for name in ("make test", "make run") if name in kept}
    for target in ("test", "run"):
        if args.only in (None, target):
            results[f"make {target}"] = {**measured, **timed(target, env)}
    emit(
        "t1_wall_time",
        {
            "runs_dir": str(runs),
            **results,
            "targets": {"make test minutes": 10, "make run minutes": 20},
            "meets_targets": all(
                r["returncode"] == 0 and r["minutes"] <= (10 if name == "make test" else 20)
                for name, r in results.items()
            ),
        },
    )


if __name__ == "__main__":
    main()
