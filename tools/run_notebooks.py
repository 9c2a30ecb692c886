"""Execute every course notebook in order; save executed copies and HTML pages under runs/<profile>/.

Used by `make run`. The profile comes from MRL_PROFILE, as in the notebooks themselves.
Arguments, if any, pick notebooks by number prefix: `python tools/run_notebooks.py 06 07`.
Prints each notebook's wall time and stops at the first failure, naming the cell.

Executed copies go to ``runs/<profile>/notebooks/``; each is also written as a self-contained HTML
page (plots embedded as data URIs) to ``runs/<profile>/html/``, with an ``index.html`` that links
the pages in course order, for instructors to publish as they are.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers import get_profile, runs_dir
from helpers.run_files import save_findings

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the notebook's first ``# `` heading, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def export_html(executed: list[Path], html_dir: Path, profile_name: str) -> Path:
    """Write each executed notebook as ``<name>.html`` with its images embedded, and ``index.html``.

    Existing pages of notebooks not in ``executed`` are kept and listed too, so exporting one
    re-run notebook leaves the others' pages linked. Returns the index page.
    """
    from nbconvert import HTMLExporter

    from helpers.run_files import atomic_write

    html_dir.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(
        embed_images=True
    )  # markdown images too, not only outputs (already data URIs)
    for path in executed:
        body, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4))
        # the "Next:" links between notebooks point at the pages, so the site is self-contained
        body = re.sub(r'href="(\d\d_[^"/]+)\.ipynb"', r'href="\1.html"', body)
        atomic_write(html_dir / f"{path.stem}.html", body)
    items = []
    for page in sorted(html_dir.glob("[0-9][0-9]_*.html")):
        source = page.parent.parent / "notebooks" / f"{page.stem}.ipynb"
        title = (
            notebook_title(nbformat.read(source, as_version=4), page.stem)
            if source.is_file()
            else page.stem
        )
        items.append(f'  <li><a href="{html.escape(page.name)}">{html.escape(title)}</a></li>')
    index = html_dir / "index.html"
    atomic_write(
        index,
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Matryoshka embeddings, measured honestly'
        f"</title></head>\n<body>\n<h1>Matryoshka embeddings, measured honestly</h1>\n"
        f"<p>The executed course, profile <code>{html.escape(profile_name)}</code>, in order:</p>\n"
        "<ol>\n" + "\n".join(items) + "\n</ol>\n</body></html>\n",
    )
    return index


@contextmanager
def ipc_client(
    nb: nbformat.NotebookNode, cwd: Path, timeout: int = 3600, allow_errors: bool = False
):
    """A started kernel for ``nb`` working in ``cwd``, as an nbclient ``NotebookClient``; shut down on exit.

    IPC (a local socket file) instead of TCP: ipykernel warns about unencrypted TCP before every notebook. The
    socket files go to a short temporary path (a Unix socket path may not exceed about 100 characters).
    ``tests/test_rerun.py`` starts its kernels with this too."""
    sockets = Path(tempfile.mkdtemp(prefix="mrl-"))
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "k"))
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        with client.setup_kernel():
            yield client
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)  # also removes its socket files
        shutil.rmtree(sockets, ignore_errors=True)


def main(only: list[str]) -> int:
    profile = get_profile()
    out_dir = runs_dir(profile) / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    total = time.perf_counter()
    executed, seconds = [], {}
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if only and not path.name.startswith(tuple(only)):
            continue
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            with ipc_client(nb, NOTEBOOKS) as client:
                client.execute()  # also records language_info and the widgets' state (notebook 09's HTML page)
        except CellExecutionError as error:
            nbformat.write(nb, out_dir / path.name)
            print(
                f"FAILED {path.name}: executed copy with the error in {out_dir / path.name}\n{error}"
            )
            return 1
        nbformat.write(nb, out_dir / path.name)
        executed.append(out_dir / path.name)
        seconds[path.name[:2]] = time.perf_counter() - start
        print(f"{path.name}: {seconds[path.name[:2]]:.0f} s", flush=True)
    index = export_html(executed, runs_dir(profile) / "html", profile.name)
    if not only:  # a whole run: its timings go beside the findings tools/docs.py reads
        save_findings(
            runs_dir(profile),
            "timings",
            notebooks=seconds,
            total_s=time.perf_counter() - total,
            cpus=os.cpu_count(),
            profile=profile.name,
        )
    print(
        f"all notebooks ({profile.name} profile): {time.perf_counter() - total:.0f} s; executed copies in {out_dir}, "
        f"HTML pages from {index}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
