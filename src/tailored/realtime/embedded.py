"""Real time inside a process: the bus its settings name, and consumers in a thread.

``tailored serve`` runs :class:`RealtimeService`: its ingestion publishes on the bus, and a
background thread runs the worker over it (the embedded default: an in-process bus; with
``TAILORED_REDIS_URL``, the shared Redis stream, so a separate ``tailored worker`` and other
servers share the work).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from tailored.realtime.bus import Bus, LocalBus
from tailored.realtime.worker import Worker

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["RealtimeService", "open_bus", "worker_for"]

log = logging.getLogger("tailored.realtime")


def worker_for(store: Store, bus: Bus | None, **options: Any) -> Worker:
    """A worker with every registered consumer, and the stream relay when the bus is
    Redis (see :mod:`tailored.realtime.relay`)."""
    worker = Worker(store, publisher=bus, **options)
    from tailored.realtime.redis_bus import RedisBus

    if isinstance(bus, RedisBus):
        from tailored.realtime.relay import StreamRelay

        worker.consumers.append(StreamRelay(bus))
    return worker


def open_bus(settings: Settings) -> Bus:
    """Redis Streams when ``redis_url`` is set, else an in-process bus."""
    if settings.redis_url:
        from tailored.realtime.redis_bus import RedisBus

        return RedisBus(settings.redis_url, prefix=settings.redis_stream)
    return LocalBus()


class RealtimeService:
    """A worker over ``bus`` in a daemon thread, started and stopped with a server."""

    def __init__(self, store: Store, bus: Bus, *, worker: Worker | None = None,
                 catch_up_seconds: float = 2.0) -> None:
        self.store = store
        self.bus = bus
        self.worker = worker or worker_for(store, bus)
        self.catch_up_seconds = catch_up_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="tailored-realtime",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.worker.run(self._stop, self.bus, catch_up_seconds=self.catch_up_seconds)
        except Exception:  # the server goes on; its events wait in the store
            log.exception("real-time worker stopped")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.bus.close()
