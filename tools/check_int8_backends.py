"""Can sentence-transformers' ONNX and OpenVINO backends install beside the course's transformers?

    python tools/check_int8_backends.py

Notebook 10 skips the ONNX and OpenVINO rows because, on 2026-12-06, pip could not install
``sentence-transformers[onnx]`` or ``sentence-transformers[openvino]`` beside transformers 5.15 or
newer, which the course needs (Colab's version): optimum-onnx 0.1.0 requires transformers<4.58,
optimum-intel 2.2.0 transformers<5.6. This asks pip's resolver the same question
today (a dry run: nothing is installed; it needs the package index) and prints one line per backend.
When a line says a backend installs, its row can be added to notebook 10.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

from packaging.requirements import Requirement

# the course's own bounds on the two packages, as the installed course declares them (pyproject.toml)
COURSE = {
    r.name: r
    for r in map(Requirement, importlib.metadata.requires("mrl-course-helpers"))
    if r.name in ("sentence-transformers", "transformers") and r.marker is None
}


def resolves(extra: str) -> tuple[bool, str]:
    """Whether pip resolves sentence-transformers[extra] within the course's bounds, and pip's last error line."""
    with_extra = Requirement(str(COURSE["sentence-transformers"]))
    with_extra.extras = {extra}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet"]
        + [str(with_extra), str(COURSE["transformers"])],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line.removeprefix("ERROR: ") for line in done.stderr.splitlines() if "ERROR" in line]
    return done.returncode == 0, errors[-1].split(":")[0] if errors else ""


def main() -> int:
    for extra in ("onnx", "openvino"):
        ok, error = resolves(extra)
        if ok:
            print(
                f"{extra}: installs beside {', '.join(map(str, COURSE.values()))}: its row can be added."
            )
        else:
            print(
                f"{extra}: does not install beside {', '.join(map(str, COURSE.values()))} ({error or 'pip failed'})."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
