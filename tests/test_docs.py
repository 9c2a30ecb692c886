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
    expected = [
        "## The result",
        "## Start",
        "## Use your own data",
        "## The notebooks",
        "## Layout",
    ]
    assert headings[:5] == expected, headings


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


def test_every_document_is_what_tools_docs_builds_from_the_committed_results():
    """A figure typed by hand, a stale result file or a template edited without `make docs` fails here."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "docs.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


# A measured figure has decimals or a percent sign; versions and hardware facts are allowed words.
FIGURE = re.compile(r"(?<![\w.\-/])[-+−]?\d+(?:,\d{3})*\.\d+%?|(?<![\w.])\d+%")
NOT_A_RESULT = re.compile(
    r"(?:PostgreSQL|pgvector|Python|sentence-transformers|capability|version|transformers"
    r"|torch|a T4 is|Colab's|CUDA|WordNet|v|~)\s*$"
)


def test_templates_keep_no_figure_outside_a_field():
    """Prose in docs/src carries no measured figure of its own: each comes from a {{field}}."""
    typed = []
    for template in sorted((ROOT / "docs" / "src").glob("*.md")):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            prose = re.sub(r"\{\{.*?\}\}|`[^`]*`|\]\([^)]*\)", " ", line)
            for match in FIGURE.finditer(prose):
                if match.group() != "95%" and not NOT_A_RESULT.search(prose[: match.start()]):
                    typed.append(
                        f"{template.name}:{number}: {match.group()} in {line.strip()[:80]}"
                    )
    assert not typed, "typed figures in docs/src:\n" + "\n".join(typed)
