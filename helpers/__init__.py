"""Plumbing for the Matryoshka course (the lessons are in the notebooks): ``profiles``, ``sources``, ``benchmark``,
``evaluation``, ``results``, ``plots``; ``recipe`` and ``search`` copy functions of notebooks 02, 06 and 07.

``import helpers`` loads only ``profiles``; each module imports what it needs when it is imported.
"""

from helpers.profiles import Profile, get_profile, runs_dir

# The public repository the Colab badges and install cells point at (tests/test_notebooks.py checks both).
REPO_SLUG = "mrl-course/matryoshka-embeddings-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"

__all__ = ["REPO_SLUG", "REPO_URL", "Profile", "get_profile", "runs_dir"]
