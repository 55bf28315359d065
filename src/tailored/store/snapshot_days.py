"""Writing the day-partitioned tables of a snapshot: events and the interactions they hold.

Rows stream from the store in chunks into a staging file (with their day), which Arrow then
writes out partitioned by day, one file per day and pass. Three passes use it: every day
(a full rebuild), some days rewritten whole (history moved on them), and new events added
to their days as a new part beside the old ones.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import sqlalchemy as sa

from tailored.store.changes import day_of
from tailored.store.personal import PersonalData
from tailored.store.snapshot_files import PARTITIONED, day_folder
from tailored.store.snapshot_schema import SCHEMAS, event_order_value, interaction_rows
from tailored.store.tables import events

__all__ = ["DayCounts", "clear_days", "compact_days", "write_days"]

# Rows per table per day: {"2010-12-01": [events, interactions]}.
DayCounts = dict[str, list[int]]

_DAY = pa.field("day", pa.string())
_PARTITIONING = ds.partitioning(pa.schema([_DAY]), flavor="hive")
_FORMAT = ds.ParquetFileFormat()


def _dump(doc: Any) -> str:
    return orjson.dumps(doc, default=str).decode()


def _event_row(r: Any, personal: PersonalData, day: str, order_value: float | None
               ) -> dict[str, Any]:
    return {
        "message_id": r.message_id, "type": r.type, "event": r.event, "name": r.name,
        "profile_id": r.profile_id, "user_id": r.user_id, "anonymous_id": r.anonymous_id,
        "device_id": r.device_id, "platform": r.platform, "timestamp": r.timestamp,
        "received_at": r.received_at, "context": _dump(personal.reveal_context(r.context)),
        "properties": _dump(r.properties), "traits": _dump(personal.reveal_traits(r.traits)),
        "order_value": order_value, "day": day,
    }


def clear_days(folder: Path, days: Collection[str]) -> None:
    """Remove these days' partitions of every partitioned table."""
    for name in PARTITIONED:
        for day in days:
            shutil.rmtree(day_folder(folder, name, day), ignore_errors=True)


def write_days(
    conn: sa.Connection, folder: Path, personal: PersonalData, *, after: int, upto: int,
    days: Collection[str] | None = None, skip_days: Collection[str] = (), tag: str,
    chunk: int = 50_000, on_progress: Callable[[int], None] | None = None,
) -> DayCounts:
    """Write the events with ``after < id <= upto`` (only those on ``days`` when given, none
    on ``skip_days``) and their interactions into day partitions, as parts named by ``tag``
    beside any already there. Returns the rows written per day."""
    query = sa.select(events).where(events.c.id > after, events.c.id <= upto)
    if days is not None:
        if not days:
            return {}
        query = query.where(day_of(events.c.timestamp, conn.dialect).in_(sorted(days)))
    staging = Path(folder) / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    counts: dict[str, Counter[str]] = {name: Counter() for name in PARTITIONED}
    try:
        writers = {name: pq.ParquetWriter(staging / f"{name}.parquet",
                                          SCHEMAS[name].append(_DAY), compression="zstd")
                   for name in PARTITIONED}
        done = 0
        skip = set(skip_days)
        result = conn.execution_options(yield_per=chunk).execute(query.order_by(events.c.id))
        for part in result.partitions():
            rows: dict[str, list[dict[str, Any]]] = {name: [] for name in PARTITIONED}
            for r in part:
                day = r.timestamp.isoformat()[:10]  # times come back in UTC
                if day in skip:
                    continue
                lines = list(interaction_rows(r)) if r.type == "track" else []
                rows["events"].append(_event_row(r, personal, day,
                                                 event_order_value(r, lines)))
                rows["interactions"].extend({**x, "day": day} for x in lines)
            for name, batch in rows.items():
                if batch:
                    writers[name].write_table(pa.Table.from_pylist(
                        batch, schema=writers[name].schema))
                    counts[name].update(b["day"] for b in batch)
            done += len(part)
            if on_progress:
                on_progress(done)
        for name, writer in writers.items():
            writer.close()
            if counts[name]:
                _partition(staging / f"{name}.parquet", Path(folder) / name, tag)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    every = set(counts["events"]) | set(counts["interactions"])
    return {day: [counts["events"][day], counts["interactions"][day]] for day in sorted(every)}


def _partition(staged: Path, out: Path, tag: str) -> None:
    """Write a staged table into ``out`` partitioned by day, adding to what is there."""
    ds.write_dataset(
        ds.dataset(staged), out, format=_FORMAT, partitioning=_PARTITIONING,
        basename_template=f"part-{tag}-{{i}}.parquet",
        existing_data_behavior="overwrite_or_ignore",
        file_options=_FORMAT.make_write_options(compression="zstd"),
        # One file per day and pass (more only past this many days in one pass).
        max_open_files=2048, max_rows_per_file=0)


def compact_days(folder: Path, days: Collection[str], *, most: int = 16) -> list[str]:
    """Join a day's parts into one when new events have piled more than ``most`` on it;
    returns the days compacted."""
    done = []
    for day in days:
        for name in PARTITIONED:
            where = day_folder(folder, name, day)
            parts = sorted(where.glob("*.parquet"))
            if len(parts) <= most:
                continue
            table = pq.read_table([str(p) for p in parts], schema=SCHEMAS[name])
            joined = where / f"part-joined-{uuid.uuid4().hex[:12]}.parquet"
            pq.write_table(table, joined, compression="zstd")
            for p in parts:
                p.unlink()
            done.append(day)
    return sorted(set(done))
