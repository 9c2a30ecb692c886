"""Errors a learner reads as one sentence: what went wrong and what to do, without a traceback."""

import errno
import shutil
from pathlib import Path


class OneSentence:
    """Shown in Jupyter and Colab as its one sentence, without a traceback (IPython's ``_render_traceback_``)."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class CourseError(OneSentence, RuntimeError):
    """A cell cannot go on (its pieces do not belong together): the sentence says which cells to run."""


class DiskFullError(OneSentence, OSError):
    """The runs folder has no room left: the sentence gives the folder, its free space and what to do."""


def is_disk_full(error: BaseException) -> bool:
    """True for ENOSPC/EDQUOT, also when a library wraps it in its own error (safetensors' ``SafetensorError``)."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(error) or "Disk quota exceeded" in str(error)


def disk_full_error(folder: Path, doing: str) -> DiskFullError:
    """The sentence for a full disk at ``folder`` while ``doing`` (e.g. "writing a checkpoint")."""
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
    free_mb = shutil.disk_usage(existing).free / 2**20
    error = DiskFullError(
        f"The disk holding {folder} is full ({free_mb:.0f} MB free) while {doing}; free some space there, or set "
        "MRL_RUNS_DIR to a folder with room before the setup cell, then run this cell again (what was saved "
        "before is intact)."
    )
    error.errno = errno.ENOSPC  # still an OSError of a full disk to code that catches one
    return error
