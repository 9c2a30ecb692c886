"""tools/run_notebooks.py: the executed course as HTML pages plus an index, for instructors to publish."""

from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5d6b2b50000000049454e44ae426082"
    )
).decode()


def runner():
    spec = importlib.util.spec_from_file_location(
        "run_notebooks", ROOT / "tools" / "run_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def executed_notebook(folder: Path, name: str, title: str, next_link: str) -> Path:
    nb = nbformat.v4.new_notebook()
    plot = nbformat.v4.new_code_cell("plot()")
    plot.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\n**Next:** [the next one]({next_link})"),
        plot,
    ]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_pages_exist_links_resolve_and_images_are_embedded(tmp_path):
    executed = tmp_path / "notebooks"
    executed.mkdir()
    paths = [
        executed_notebook(executed, "01_first", "The first lesson", "02_second.ipynb"),
        executed_notebook(executed, "02_second", "The second lesson", "01_first.ipynb"),
    ]
    html_dir = tmp_path / "html"
    index = runner().export_html(paths, html_dir, "smoke")
    text = index.read_text()
    links = re.findall(r'href="([^"]+)"', text)
    assert links == ["01_first.html", "02_second.html"]  # course order
    assert "The first lesson" in text and "The second lesson" in text
    for link in links:
        page = (html_dir / link).read_text()
        images = re.findall(r'<img[^>]+src="([^"]+)"', page)
        assert images and all(src.startswith("data:image/png;base64,") for src in images)
        for target in re.findall(r'href="(\d\d_[^"]+)"', page):
            assert target.endswith(".html") and (html_dir / target).is_file(), target
        assert (html_dir / link).stat().st_mode & 0o044  # readable by a web server, not 0600
    # re-exporting one notebook keeps the other's page in the index
    runner().export_html(paths[1:], html_dir, "smoke")
    assert re.findall(r'href="([^"]+)"', index.read_text()) == ["01_first.html", "02_second.html"]
