"""Real time: committed changes, the bus they travel on, consumers and the worker.

Ingestion (every source) publishes one :class:`Change` per committed chunk through the
:class:`Publisher` it is given; erasure publishes the erased profile ids. Consumers (live
profiles, live segments, and what later issues register) keep their positions in the store
and catch up from it, so the store is the log and a bus only makes things faster. See
docs/realtime.md.

The names below load on first use: ingestion imports :mod:`tailored.realtime.changes`
alone, and must not pay for the consumers.
"""

from __future__ import annotations

import importlib
from typing import Any

from tailored.realtime.changes import Change, NullPublisher, Publisher

__all__ = [
    "Broadcast",
    "Bus",
    "Change",
    "Consumer",
    "Delivery",
    "LocalBus",
    "NullPublisher",
    "Publisher",
    "RedisBus",
    "Worker",
    "open_bus",
    "register",
]

_LAZY = {
    "Broadcast": "tailored.realtime.bus", "Bus": "tailored.realtime.bus",
    "Delivery": "tailored.realtime.bus", "LocalBus": "tailored.realtime.bus",
    "RedisBus": "tailored.realtime.redis_bus", "open_bus": "tailored.realtime.embedded",
    "Consumer": "tailored.realtime.consumers", "register": "tailored.realtime.consumers",
    "Worker": "tailored.realtime.worker",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tailored.realtime' has no attribute {name!r}")
