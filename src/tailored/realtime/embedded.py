"""Real time beside a server: the consumers in a child process, or in a thread over a bus.

``tailored serve`` without Redis starts :class:`ConsumerProcess`: a ``tailored worker`` of
its own on the same store, which reads the store's log as it grows. Python runs one thread
of a process at a time, so consumers in a thread of the server would take turns with its
requests; in a process of their own they run on another core (at 1,000 events/s the
consumers cost about as much CPU as ingestion itself: benchmarks/realtime.py). With
``TAILORED_REDIS_URL``, ``realtime_consumers = "thread"`` or a store in memory (which no
other process can open) it runs :class:`RealtimeService`: its ingestion publishes on the
bus, and a background thread runs the worker over it (with Redis, the shared stream, so
``tailored worker`` processes and other servers share the work).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

from tailored.realtime.bus import Bus, LocalBus
from tailored.realtime.worker import Worker

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["ConsumerProcess", "RealtimeService", "open_bus", "runs_in_process",
           "worker_for"]

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


def runs_in_process(settings: Settings, store: Store) -> bool:
    """Whether a server with these settings runs its consumers in a child process."""
    url = store.engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    # With Redis the servers take their share of the stream in a thread, as the workers
    # beside them do in theirs: on the 2-core machine measured, more processes only took
    # turns at the CPU (benchmarks/realtime.py, docs/realtime.md).
    return settings.realtime_consumers == "process" and not settings.redis_url \
        and not in_memory


# The settings a server's worker must share with it, passed on even when they were given to
# the server in code rather than in its environment or settings file.
_SHARED = ("redis_url", "redis_stream", "webhook_timeout_seconds", "webhook_max_attempts",
           "webhook_backoff_seconds")


class ConsumerProcess:
    """``tailored worker --parent PID`` on the server's store, started and stopped with the
    server; it stops by itself if the server dies without stopping it."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.proc is not None:
            return
        # The environment (and the settings file it may name) passes on as it is; the
        # store is the server's, whatever named it (in the environment, not the command
        # line, where a password would show).
        env = {**os.environ, "TAILORED_DATABASE_URL":
               self.store.engine.url.render_as_string(hide_password=False)}
        for name in _SHARED:
            value = getattr(self.settings, name)
            if value is not None:
                env[f"TAILORED_{name.upper()}"] = str(value)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tailored", "worker", "--parent", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env, close_fds=True)

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # a clean stop: the batch in hand is finished first
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout)
