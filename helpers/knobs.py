"""A knob out of range stops the notebook with one sentence naming it and what it accepts, before any work."""

import numbers

from helpers.errors import OneSentence


class KnobError(OneSentence, ValueError):
    """A knob out of range: shown in Jupyter and Colab as its one sentence, without a traceback."""


def is_whole(value: object, low: int = 1, high: float = float("inf")) -> bool:
    """A whole number (not a bool, not 3.0) from ``low`` to ``high``; numpy integers count."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high


def check_knob(name: str, value: object, allowed: str, ok) -> None:
    """Stop with ``NAME=value must be <allowed>.`` unless ``ok(value)`` holds (an ``ok`` that fails counts as no)."""
    try:
        good = bool(ok(value))
    except (TypeError, ValueError, KeyError, AttributeError):
        good = False
    if not good:
        raise KnobError(f"{name}={value!r} must be {allowed}.")
