"""Shared fixtures: the smoke benchmark and the packaged model, built once per session."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def smoke_profile():
    from helpers.profiles import get_profile

    return get_profile("smoke")


@pytest.fixture(scope="session")
def smoke_data(smoke_profile, tmp_path_factory):
    from helpers.benchmark import load_benchmark

    return load_benchmark(smoke_profile, tmp_path_factory.mktemp("smoke"))


@pytest.fixture(scope="session")
def minilm():
    from sentence_transformers import SentenceTransformer

    from helpers.profiles import PACKAGED_MINILM
    from helpers.sources import model_path

    return SentenceTransformer(model_path(PACKAGED_MINILM))


@pytest.fixture
def train_script():
    """``scripts/train_matryoshka.py`` as a module, so tests call its ``main(argv, callbacks)``."""
    path = Path(__file__).resolve().parent.parent / "scripts" / "train_matryoshka.py"
    spec = importlib.util.spec_from_file_location("train_matryoshka", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
