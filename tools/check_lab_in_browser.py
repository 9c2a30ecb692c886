"""Open the course with `make lab` in a real browser (Debian's Chromium, headless) and drive notebook 09's demo.

    apt-get install chromium && pip install playwright   # once; the browser is Debian's, not a download
    python tools/check_lab_in_browser.py

1. Notebooks 01-03 run in the smoke profile into a fresh runs folder (notebook 09 reads what they save).
2. `make lab PROFILE=smoke` starts JupyterLab on a free port, as a newcomer would start it.
3. Chromium opens JupyterLab's file browser: the ten notebooks must be listed.
4. It opens notebook 09 and runs all its cells: the query box, the dims slider and the precision
   buttons must render, and the demo's table must show.
5. It moves the slider one step with the keyboard: the caption and the table must change.

Screenshots go to runs/smoke/lab-check/. Exits 1, naming the step, when one fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]  # without these Chromium calls hosts it cannot reach


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    from playwright.sync_api import sync_playwright

    runs, out = Path(tempfile.mkdtemp(prefix="mrl-lab-")), ROOT / "runs" / "smoke" / "lab-check"
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MRL_PROFILE": "smoke", "MRL_RUNS_DIR": str(runs)}
    subprocess.run(["make", "-C", str(ROOT), "setup"], env=env, check=True)
    course_python = str(
        ROOT / ".venv" / "bin" / "python"
    )  # make setup's environment, not this script's
    subprocess.run(
        [course_python, str(ROOT / "tools" / "run_notebooks.py"), "01", "02", "03"],
        env=env,
        check=True,
    )
    committed = {
        p: p.read_bytes() for p in (ROOT / "notebooks").glob("*.ipynb")
    }  # JupyterLab may autosave
    port, token = free_port(), "course-check"
    lab_args = f"--no-browser --port={port} --ServerApp.token={token} --ServerApp.ip=127.0.0.1"
    server = subprocess.Popen(
        ["make", "-C", str(ROOT), "lab", "PROFILE=smoke", f"LAB_ARGS={lab_args}"],
        env=env,
        start_new_session=True,  # make and the JupyterLab under it stop together (below)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # the first `make lab` installs JupyterLab
            if server.poll() is not None:
                print(
                    f"step 2: `make lab` stopped (exit status {server.returncode}); its output is above"
                )
                return 1
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{base}/lab/tree?token={token}")
            page.wait_for_selector(".jp-DirListing-itemText", timeout=60_000)
            listed = set(page.locator(".jp-DirListing-itemText").all_inner_texts())
            wanted = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
            if not wanted <= listed:
                print(f"step 3: the file browser lists {sorted(listed)}, not the ten notebooks")
                return 1
            page.screenshot(path=str(out / "1-file-browser.png"))
            print(f"step 3: JupyterLab lists the {len(wanted)} notebooks")
            page.goto(f"{base}/lab/tree/09_shrink_the_dims_demo.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000
            )
            page.locator(
                ".lm-MenuBar-itemLabel", has_text="Run"
            ).first.click()  # the menu a learner uses
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            page.wait_for_selector(".widget-slider .noUi-handle", timeout=300_000)
            output = page.locator(".widget-output").first
            page.wait_for_function(
                "el => el.innerText.includes('bytes per vector')",
                arg=output.element_handle(),
                timeout=120_000,
            )
            before = output.inner_text()
            page.screenshot(path=str(out / "2-demo.png"), full_page=True)
            print(f"step 4: the widgets render; the demo shows {before.splitlines()[0]!r}")
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.focus()
            handle.press("ArrowLeft")
            page.wait_for_function(
                "([el, text]) => el.innerText !== text && el.innerText.includes('bytes per vector')",
                arg=[output.element_handle(), before],
                timeout=60_000,
            )
            after = output.inner_text()
            page.screenshot(path=str(out / "3-slider-moved.png"), full_page=True)
            if after.splitlines()[0] == before.splitlines()[0]:
                print(
                    f"step 5: the caption did not change after the slider moved: {after.splitlines()[0]!r}"
                )
                return 1
            print(f"step 5: one step of the slider, and the demo answers {after.splitlines()[0]!r}")
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        for path, data in committed.items():  # the notebooks stay as committed, without outputs
            if path.read_bytes() != data:
                path.write_bytes(data)
    print(f"JupyterLab, notebook 09 and its widgets work in Chromium; screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
