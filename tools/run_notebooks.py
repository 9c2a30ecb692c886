"""Execute every course notebook in order and save executed copies under runs/<profile>/notebooks/.

Used by `make run`. The profile comes from MRL_PROFILE, as in the notebooks themselves.
Arguments, if any, pick notebooks by number prefix: `python tools/run_notebooks.py 06 07`.
Prints each notebook's wall time and stops at the first failure, naming the cell.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers import get_profile, runs_dir

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def main(only: list[str]) -> int:
    profile = get_profile()
    out_dir = runs_dir(profile) / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    total = time.perf_counter()
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if only and not path.name.startswith(tuple(only)):
            continue
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        client = NotebookClient(
            nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        )
        try:
            client.execute()
        except CellExecutionError as error:
            nbformat.write(nb, out_dir / path.name)
            print(f"FAILED {path.name}: executed copy with the error in {out_dir / path.name}\n{error}")
            return 1
        nbformat.write(nb, out_dir / path.name)
        print(f"{path.name}: {time.perf_counter() - start:.0f} s", flush=True)
    print(
        f"all notebooks ({profile.name} profile): {time.perf_counter() - total:.0f} s; executed copies in {out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
