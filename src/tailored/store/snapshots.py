"""Parquet snapshots of the store, which analytics, training and Spark read.

A snapshot is a folder: events and interactions partitioned by day
(``events/day=YYYY-MM-DD/part-….parquet``), one file each for profiles, identities, items,
edges and segment members, and a manifest saying what it holds and what moment of the
store it is. Everything streams in chunks, so a snapshot of any size fits in memory.

:func:`export_snapshot` into a folder that already holds a snapshot of the same store brings
it up to date rather than writing it again:

* nothing changed — nothing is written (not even the manifest);
* new events — added to their days as new parts;
* history changed in place (a merge moved a person's events, an erasure or a purge deleted
  some: the store's history marker, see :mod:`tailored.store.changes`) — the days it lay on
  are rewritten from the store;
* a side table's fingerprint moved — that file is rewritten.

Anything it cannot account for (another store, a marker that went back, a row count that
does not add up, an interrupted refresh) rebuilds the whole snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tailored.store.changes import EVERY_DAY, changed_days
from tailored.store.snapshot_days import DayCounts, clear_days, compact_days, write_days
from tailored.store.snapshot_files import PARTITIONED, snapshot_lock
from tailored.store.snapshot_schema import SCHEMAS, SNAPSHOT_TABLES, interaction_rows
from tailored.store.snapshot_side import SIDE_TABLES, write_side_table
from tailored.store.snapshot_state import (
    StoreMarks,
    ensure_store_id,
    read_marks,
    read_store_id,
)
from tailored.store.store import Store

__all__ = ["SCHEMAS", "SNAPSHOT_TABLES", "export_snapshot", "interaction_rows",
           "read_manifest", "refresh_if_present"]

# 3: events carry their order value (an older snapshot is rebuilt, not extended).
VERSION = 3
# Past this many changed days one scan of everything is as cheap as picking them out.
_MOST_DAYS = 500


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the snapshot in ``folder``; None when there is none or it is
    unreadable."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def refresh_if_present(store: Store, folder: Path) -> dict[str, Any] | None:
    """Bring the snapshot in ``folder`` up to date if there is one (after an erasure, so
    the person leaves the kept snapshot at once, not at the next analytics run)."""
    if read_manifest(folder) is None:
        return None
    return export_snapshot(store, folder)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    partial = Path(folder) / "manifest.json.partial"
    partial.write_text(json.dumps(manifest, indent=2))
    os.replace(partial, Path(folder) / "manifest.json")


def _why_rebuild(old: dict[str, Any] | None, marks: StoreMarks) -> str | None:
    """Why the snapshot in the folder cannot be brought up to date; None when it can."""
    if old is None:
        return "no snapshot in the folder"
    state = old.get("state")
    if old.get("version") != VERSION or not isinstance(state, dict):
        return "a snapshot of an older format"
    if state.get("store_id") != marks.store_id:
        return "a snapshot of another store"
    if (state.get("last_event_id", 0) > marks.last_event_id
            or state.get("history_mark", 0) > marks.history_mark):
        return "the store went back past the snapshot (restored or recreated)"
    return None


def _clear(folder: Path) -> None:
    for name in PARTITIONED:
        shutil.rmtree(Path(folder) / name, ignore_errors=True)
        (Path(folder) / f"{name}.parquet").unlink(missing_ok=True)  # the older layout


def export_snapshot(
    store: Store, folder: Path, *, chunk: int = 50_000, full: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Bring the snapshot in ``folder`` up to date with the store (write it whole when the
    folder holds none, or with ``full``); return its manifest, whose ``refresh`` says what
    was done."""
    started = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with store.reading() as conn:
        known = read_store_id(conn)
    if known is None:
        with store.transaction() as conn:
            ensure_store_id(conn)
    with snapshot_lock(folder, exclusive=True), store.reading() as conn:
        if conn.dialect.name == "postgresql":
            # One moment for every file: a snapshot transaction, not one per statement.
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        try:
            manifest = _refresh(conn, store, folder, full=full, chunk=chunk,
                                on_progress=on_progress)
        finally:
            conn.rollback()
    manifest["refresh"]["seconds"] = round(time.perf_counter() - started, 3)
    return manifest


def _refresh(conn: sa.Connection, store: Store, folder: Path, *, full: bool, chunk: int,
             on_progress: Callable[[int], None] | None) -> dict[str, Any]:
    marks = read_marks(conn)
    old = read_manifest(folder)
    reason = "asked for a full export" if full else _why_rebuild(old, marks)
    days: DayCounts = {}
    rebuilt: set[str] = set()
    appended: DayCounts = {}
    if reason is None:
        assert old is not None
        state = old["state"]
        days = {d: list(c) for d, c in old.get("days", {}).items()}
        changed = changed_days(conn, state["history_mark"], marks.history_mark)
        if EVERY_DAY in changed:
            reason = "history changed on every day (a purge)"
        elif len(changed) > _MOST_DAYS:
            reason = f"history changed on {len(changed)} days"
        else:
            rebuilt = changed
    side_changed = [n for n in SIDE_TABLES if reason is not None
                    or old is None or old["state"]["side"].get(n) != marks.side[n]
                    or not (folder / f"{n}.parquet").exists()]
    if (reason is None and not rebuilt and not side_changed
            and old is not None and old["state"]["last_event_id"] == marks.last_event_id):
        return {**old, "refresh": {"mode": "reused", "reason": "the store has not changed"}}

    # From here the folder is in flux: without a manifest, an interrupted refresh is
    # rebuilt next time instead of being trusted.
    (folder / "manifest.json").unlink(missing_ok=True)
    personal = store.personal
    tag = f"{marks.last_event_id:012d}"
    if reason is None:
        assert old is not None
        clear_days(folder, rebuilt)
        for day in rebuilt:
            days.pop(day, None)
        days.update(write_days(conn, folder, personal, after=0, upto=marks.last_event_id,
                               days=rebuilt, tag=tag, chunk=chunk))
        appended = write_days(conn, folder, personal, after=old["state"]["last_event_id"],
                              upto=marks.last_event_id, skip_days=rebuilt, tag=tag,
                              chunk=chunk, on_progress=on_progress)
        for day, (n_events, n_interactions) in appended.items():
            have = days.setdefault(day, [0, 0])
            have[0] += n_events
            have[1] += n_interactions
        compact_days(folder, appended)
        if sum(c[0] for c in days.values()) != marks.events:
            reason = "the events in the snapshot did not add up to the store's"
    if reason is not None:
        _clear(folder)
        days = write_days(conn, folder, personal, after=0, upto=marks.last_event_id,
                          tag=tag, chunk=chunk, on_progress=on_progress)
        side_changed = list(SIDE_TABLES)
    counts = dict(old.get("tables", {})) if old is not None and reason is None else {}
    for name in side_changed:
        counts[name] = write_side_table(conn, folder, name, personal, chunk=chunk)
    counts["events"] = sum(c[0] for c in days.values())
    counts["interactions"] = sum(c[1] for c in days.values())
    now = datetime.now(UTC).isoformat()
    manifest = {
        "created_at": old["created_at"] if old is not None and reason is None else now,
        "updated_at": now, "store": store.url, "backend": store.backend,
        "tables": {name: counts.get(name, 0) for name in SNAPSHOT_TABLES},
        "format": "parquet", "version": VERSION,
        "layout": {"partitioned_by": "day", "partitioned": list(PARTITIONED),
                   "hive": True},
        "state": {"store_id": marks.store_id, "last_event_id": marks.last_event_id,
                  "history_mark": marks.history_mark, "events": marks.events,
                  "side": marks.side},
        "days": dict(sorted(days.items())),
    }
    _write_manifest(folder, manifest)
    return {**manifest, "refresh": {
        "mode": "full" if reason is not None else "incremental",
        "reason": reason or "brought up to date",
        "events_appended": sum(c[0] for c in appended.values()),
        "days_appended": len(appended), "days_rebuilt": len(rebuilt),
        "tables_rewritten": (sorted(side_changed) if reason is None
                             else list(SNAPSHOT_TABLES))}}
