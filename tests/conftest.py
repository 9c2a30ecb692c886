"""Shared fixtures: the smoke benchmark and the packaged model, built once per session."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get(
    "PYTEST_XDIST_WORKER_COUNT"
):  # make test's workers share the cores: OpenMP threads that
    # outnumber them spin-wait and slowed make test down by half; set before torch is imported (kernels inherit it)
    threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))


@pytest.hookimpl(
    wrapper=True
)  # marks before pytest-xdist's own hook writes them into the test ids, checks after
def pytest_collection_modifyitems(config, items):
    """``make test`` runs on two workers (pytest-xdist, ``--dist loadgroup``): the notebooks stay on
    one worker, in order (each reads what the one before saved), and so does the Colab simulation;
    the other tests go to whichever worker is free."""
    for item in items:
        if (
            item.path.suffix == ".ipynb"
            or item.path.name == "test_rerun.py"
            or "notebook_runs" in item.fixturenames
        ):
            item.add_marker(pytest.mark.xdist_group("notebooks"))
        elif item.path.name == "test_colab.py":
            item.add_marker(pytest.mark.xdist_group("colab"))
    result = yield
    # With pytest 9.2 xdist 3.8 silently stopped grouping: the notebooks ran on both workers, and the knob walks
    # that landed beside the Colab simulation skipped. Should it happen again, every grouped test fails saying so.
    if getattr(config.option, "loadgroup", False):  # set on the workers under --dist loadgroup
        for item in (
            i for i in items if any(i.iter_markers("xdist_group")) and "@" not in i.nodeid
        ):
            item.runtest = lambda: pytest.fail(
                "pytest-xdist did not keep this test's group on one worker; install "
                "requirements.txt's versions (pytest < 9.2) or run without -n."
            )
    return result


@pytest.fixture(scope="session")
def notebook_runs(tmp_path_factory):
    """The runs folder the notebooks share in tests/test_rerun.py (smoke); later tests reuse what they saved."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def smoke_profile():
    from helpers.profiles import get_profile

    return get_profile("smoke")


@pytest.fixture(scope="session")
def smoke_data(smoke_profile, tmp_path_factory):
    from course_data.splits import load_benchmark

    return load_benchmark(smoke_profile, tmp_path_factory.mktemp("smoke"))


@pytest.fixture(scope="session")
def minilm():
    from sentence_transformers import SentenceTransformer

    from helpers.profiles import PACKAGED_MINILM, model_path

    return SentenceTransformer(model_path(PACKAGED_MINILM))


@pytest.fixture
def train_script():
    """``scripts/train_matryoshka.py`` as a module, so tests call its ``main(argv, callbacks)``."""
    path = Path(__file__).resolve().parent.parent / "scripts" / "train_matryoshka.py"
    spec = importlib.util.spec_from_file_location("train_matryoshka", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
