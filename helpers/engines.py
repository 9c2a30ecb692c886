"""The lifecycle around notebook 08's engines: what stands in for a server once the notebook stopped it."""

from helpers.errors import CourseError


class Stopped:
    """Stands for a connection or server that the notebook's last cell stopped: using it says which cell to run.

    ``close()`` and ``cleanup()`` do nothing (the start cell releases what ran before it)."""

    def __init__(self, what: str, start_cell: str) -> None:
        self._what, self._start_cell = what, start_cell

    def close(self) -> None:
        """Nothing to close any more."""

    def cleanup(self) -> None:
        """Nothing to stop any more."""

    def __getattr__(self, name: str):
        raise CourseError(
            f"{self._what} was stopped by the notebook's last cell (Stop the server); run the cells from the one "
            f"with `{self._start_cell}` down to this one again."
        )
