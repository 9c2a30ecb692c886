"""Stand-in for ``google.colab.drive``: records each mount instead of asking for Drive access.

The simulation's shared runs folder plays the part of Drive: tests/test_colab.py sets
``MRL_RUNS_DIR`` to it, as the setup cell does after a real mount.
"""

import os


def mount(mountpoint: str, force_remount: bool = False) -> None:
    with open(os.environ["COLAB_SIM_MOUNT_LOG"], "a") as log:
        log.write(f"{mountpoint}\n")
