"""What an order is worth: one rule for the batch analytics and the one-person path.

An order is an ``Order Completed`` event, with or without a ``products`` list (Segment's
e-commerce spec makes ``products`` optional, and server-side order feeds usually send none).
Its value is the first of ``revenue``, ``total`` and ``value`` that is a number; an order
that names none of them is worth the sum of its product lines (quantity × price), and an
order with neither is an order of unknown value (counted, worth 0 in sums).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tailored.events.names import EVENT_MEANINGS, Signal

__all__ = ["ORDER_EVENTS", "ORDER_VALUE_FIELDS", "order_value"]

#: The event names that are orders (Segment's ``Order Completed``).
ORDER_EVENTS = tuple(name for name, signal in EVENT_MEANINGS.items()
                     if signal is Signal.ORDER)

#: The order-level properties that hold an order's value, in the order they are read.
ORDER_VALUE_FIELDS = ("revenue", "total", "value")
# JSON's number grammar: a numeric string ("12.50") counts, as it does on the engines.
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value)
    return None


def order_value(properties: Mapping[str, Any], line_values: Iterable[float | None] = ()
                ) -> float | None:
    """The value of an order with these properties; ``line_values`` are its product lines'
    values (``None`` where a line has no price), used only when no order-level field is a
    number."""
    for name in ORDER_VALUE_FIELDS:
        number = _number(properties.get(name))
        if number is not None:
            return number
    known = [v for v in line_values if v is not None]
    return float(sum(known)) if known else None
