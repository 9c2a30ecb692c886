"""The documents a reader finds: a short README that leads with the result, and links that resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "benchmarks" / "README.md",
]


def test_the_readme_is_short_and_leads_with_the_result():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines"
    table = next(i for i, line in enumerate(lines, 1) if line.startswith("| dims | baseline"))
    assert table <= 80, f"the first results table is at line {table}"
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[:4] == ["## The result", "## Start", "## The notebooks", "## Layout"], headings


def test_every_relative_link_in_the_documents_resolves():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if not target.startswith(("http://", "https://")):
                assert (doc.parent / target).exists(), (
                    f"{doc.name} links to {target}, which does not exist"
                )


def test_every_benchmark_script_is_cited_by_a_notebook_or_a_document():
    cited = "\n".join(p.read_text() for p in [*DOCS, *(ROOT / "notebooks").glob("*.ipynb")])
    scripts = [p for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_")]
    assert scripts and not [p.name for p in scripts if p.name not in cited]


def test_the_local_path_works_as_written():
    """The README's commands are make targets that exist, and `make lab` installs JupyterLab."""
    readme, makefile = (ROOT / "README.md").read_text(), (ROOT / "Makefile").read_text()
    for target in re.findall(r"^make (\w+)", readme, re.MULTILINE):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"make {target} is not a target"
    assert '"jupyterlab' in (ROOT / "pyproject.toml").read_text() and ".[offline,lab]" in makefile
