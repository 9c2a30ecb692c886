"""Support code for the Matryoshka Representation Learning course notebooks.

Importing ``helpers`` is fast and changes no global state: torch, datasets and
sentence-transformers load only inside the functions that need them. Modules, one concern each:
``profiles`` (sizes and sources), ``data`` (sources and the benchmark), ``models``, ``evaluation``,
``training``, ``results`` (the metrics store) and ``plots``.
"""

from helpers.profiles import Profile, get_profile, runs_dir

# The public repository the Colab badges and install cells point at (tests/test_notebooks.py checks both).
REPO_SLUG = "mrl-course/matryoshka-embeddings-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"

__all__ = ["REPO_SLUG", "REPO_URL", "Profile", "get_profile", "runs_dir"]
