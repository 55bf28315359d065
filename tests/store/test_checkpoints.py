"""A bulk load checkpoints SQLite's log beside the writing: nothing lost, the log bounded, and
every connection back to automatic checkpoints afterwards."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tailored.ingest import Ingestor, pipeline
from tailored.store import Store
from tailored.store.checkpoints import WAL_AUTOCHECKPOINT, BackgroundCheckpoints


def _events(n: int) -> list[dict[str, object]]:
    return [{"type": "track", "event": "Viewed", "messageId": f"m{i}",
             "anonymousId": f"a{i % 37}", "timestamp": "2026-01-01T00:00:00Z"}
            for i in range(n)]


def test_several_chunks_checkpoint_in_a_thread_and_restore_the_setting(
        sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    real_start = BackgroundCheckpoints.start

    def start(self: BackgroundCheckpoints) -> None:
        started.append(threading.current_thread().name)
        real_start(self)

    monkeypatch.setattr(BackgroundCheckpoints, "start", start)
    report = Ingestor(sqlite_store, chunk_size=100).ingest_events(_events(450))
    assert report.accepted == 450
    # Four full chunks were checkpointed in the background; the last one by SQLite itself.
    assert len(started) == 4
    assert not any(t.name == "tailored-checkpoint" for t in threading.enumerate())
    with sqlite_store.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM events")) == 450
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT


class _SQLiteOnly(BackgroundCheckpoints):
    """The same load with SQLite's own checkpoints only: no background thread."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.active = False


def _wal_after_load(database: Path) -> int:
    store = Store.open(f"sqlite:///{database}")
    try:
        Ingestor(store, chunk_size=2_000).ingest_events(_events(30_000))
        # Measured while the store is open: the last connection to close removes the log.
        return database.with_name(database.name + "-wal").stat().st_size
    finally:
        store.close()


def test_the_log_restarts_each_chunk_instead_of_growing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    background = _wal_after_load(tmp_path / "a.db")
    monkeypatch.setattr(pipeline, "BackgroundCheckpoints", _SQLiteOnly)
    plain = _wal_after_load(tmp_path / "b.db")
    # Each chunk waits for the previous chunk's checkpoint, so the log starts again from
    # its beginning: about one chunk, where SQLite alone lets it grow to its threshold.
    assert background * 3 < plain, (background, plain)


def test_a_failed_chunk_leaves_automatic_checkpoints_on(sqlite_store: Store) -> None:
    checkpoints = BackgroundCheckpoints(sqlite_store.engine)
    with pytest.raises(RuntimeError), sqlite_store.transaction(checkpoints=checkpoints) as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        raise RuntimeError("chunk failed")
    checkpoints.wait()
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT


def test_postgres_and_other_backends_are_left_alone() -> None:
    engine = sa.create_engine("sqlite://")
    assert BackgroundCheckpoints(engine).active
    pg = sa.create_engine("postgresql+psycopg://u@h/db")
    checkpoints = BackgroundCheckpoints(pg)
    assert not checkpoints.active
    checkpoints.start()  # no thread, no connection
    checkpoints.wait()
