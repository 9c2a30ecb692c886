"""Plumbing for the Matryoshka course; the lessons are in the notebooks (README, Layout; docs/instructors.md)."""

from helpers.profiles import get_profile as get_profile  # the two every notebook calls
from helpers.profiles import runs_dir as runs_dir

REPO_SLUG = "mrl-course/matryoshka-embeddings-course"  # what the Colab badges and install cells point at
