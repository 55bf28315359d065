"""Argument checks shared by the metrics and the splits, each a clear ValueError."""

from __future__ import annotations

import numpy as np

from tailored.errors import InvalidInput

__all__ = ["check_fraction", "check_positive_int"]


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int; InvalidInput (a ValueError) unless it is a positive integer."""
    # bool is an int to Python, but k=True is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise InvalidInput(f"{name} must be a positive integer, not {value!r}", field=name)
    return int(value)


def check_fraction(value: object, name: str) -> float:
    """``value`` as a float; InvalidInput unless it lies strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating) \
            or not 0.0 < value < 1.0:
        raise InvalidInput(f"{name} must be between 0 and 1 (exclusive), not {value!r}",
                           field=name)
    return float(value)
