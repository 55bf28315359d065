"""The bus changes travel on: a protocol, and the in-process implementation.

A bus is a :class:`~tailored.realtime.changes.Publisher` (ingestion hands it each committed
change) that consumers read :class:`Delivery` objects from and acknowledge once handled.
Besides the shared stream (each change handled by one reader) it carries broadcasts: short
messages every reading process sees (model fold-in in each serving process).

:class:`LocalBus` lives inside one process (``tailored serve`` without Redis); the Redis
Streams bus is :class:`tailored.realtime.redis_bus.RedisBus`. Neither is the record: the
store is, and a consumer catches up from it whatever the bus lost.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tailored.realtime.changes import Change

__all__ = ["Broadcast", "Bus", "Delivery", "LocalBus"]


@dataclass
class Delivery:
    """One change read from a bus; :meth:`ack` once handled."""

    change: Change
    on_ack: Callable[[], None] = field(default=lambda: None)

    def ack(self) -> None:
        self.on_ack()


@dataclass(frozen=True)
class Broadcast:
    """A message for every process: a topic and a small JSON document of ids."""

    topic: str
    body: dict[str, Any]


class Bus(Protocol):
    """Carries committed changes from publishers to consumers."""

    def publish(self, change: Change) -> None:
        """Announce a committed change (cheap; never raises)."""

    def read(self, timeout: float) -> list[Delivery]:
        """Changes not yet handled by any reader (waits up to ``timeout`` seconds)."""

    def broadcast(self, topic: str, body: dict[str, Any]) -> None:
        """Send a message every process's :meth:`read_broadcasts` sees."""

    def read_broadcasts(self, timeout: float) -> list[Broadcast]:
        """Broadcasts sent since this process's last read (every process sees each)."""

    def close(self) -> None: ...


class LocalBus:
    """An in-process bus: a queue of changes and a list of broadcasts, for one process."""

    def __init__(self, maxsize: int = 100_000) -> None:
        self._changes: queue.Queue[Change] = queue.Queue(maxsize)
        self._broadcasts: queue.Queue[Broadcast] = queue.Queue(maxsize)
        self._lock = threading.Lock()
        self.dropped = 0

    def __str__(self) -> str:
        return "the in-process bus"

    def publish(self, change: Change) -> None:
        if not change:
            return
        try:
            self._changes.put_nowait(change)
        except queue.Full:
            # The consumer is far behind: it catches up from the store instead.
            with self._lock:
                self.dropped += 1
            self._put_resync()

    def _put_resync(self) -> None:
        with contextlib.suppress(queue.Full):
            self._changes.put_nowait(Change(resync=True))

    def read(self, timeout: float) -> list[Delivery]:
        try:
            first = self._changes.get(timeout=timeout)
        except queue.Empty:
            return []
        out = [Delivery(first)]
        while len(out) < 1_000:
            try:
                out.append(Delivery(self._changes.get_nowait()))
            except queue.Empty:
                break
        return out

    def broadcast(self, topic: str, body: dict[str, Any]) -> None:
        with contextlib.suppress(queue.Full):
            self._broadcasts.put_nowait(Broadcast(topic, body))

    def read_broadcasts(self, timeout: float) -> list[Broadcast]:
        try:
            out = [self._broadcasts.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                out.append(self._broadcasts.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        return None
