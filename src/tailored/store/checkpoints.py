"""Checkpointing a SQLite store's write-ahead log beside a bulk load, not inside it.

SQLite copies the WAL back into the database file (a checkpoint) when a commit finds the log
over ``wal_autocheckpoint`` pages, and the committing writer does that copy itself. In a bulk
load the copy grows with the store (each chunk dirties pages all over its indexes) and at
400,000 events took as long as the commit's own writing. :class:`BackgroundCheckpoints` turns
the writer's automatic checkpoints off for the run and checkpoints each committed chunk in a
thread of its own while the writer validates the next: SQLite copies pages without holding
Python's lock, so the copy uses the machine's second core. A PASSIVE checkpoint never blocks
the writer or readers; the writer waits for the previous chunk's checkpoint before it begins
the next chunk, so the log never holds more than about one chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

__all__ = ["WAL_AUTOCHECKPOINT", "BackgroundCheckpoints"]

WAL_AUTOCHECKPOINT = 16_384
"""Pages of log after which a committing writer checkpoints (64 MiB at 4 KiB pages)."""


class BackgroundCheckpoints:
    """Checkpoints of a SQLite store's log in a thread, for one bulk load (no-op elsewhere)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.active = engine.dialect.name == "sqlite"
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                raw.close()
        except Exception:
            # A failed checkpoint is only a missed one: the next one, or SQLite's own once
            # the run is over, copies the same pages.
            pass

    def start(self) -> None:
        """Checkpoint what is committed so far, in the background."""
        if not self.active:
            return
        self.wait()
        self._thread = threading.Thread(target=self._run, name="tailored-checkpoint",
                                        daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Let the running checkpoint finish."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @contextmanager
    def deferred(self, conn: sa.Connection) -> Iterator[None]:
        """Around one chunk's whole transaction on ``conn`` (commit included): its commit
        does not checkpoint; the checkpoint starts in the background once it is committed."""
        if not self.active:
            yield
            return
        self.wait()
        raw: Any = conn.connection.driver_connection
        raw.execute("PRAGMA wal_autocheckpoint=0")
        try:
            yield
        finally:
            raw.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        self.start()
