"""Where a snapshot's tables lie on disk, and how readers find and read them.

Events and interactions are partitioned by the UTC day of the event, in the Hive layout that
DuckDB, pyarrow and Spark all read (``events/day=2010-12-01/part-….parquet``); a day holds
one or more parts, added as new events arrive. The other tables are one file each
(``profiles.parquet``). Snapshots written before partitioning (``events.parquet``) are still
read.

A refresh takes the folder's lock exclusively and readers take it shared, so a reader never
sees a day half rewritten.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tailored.store.snapshot_schema import SCHEMAS

__all__ = [
    "PARTITIONED",
    "day_folder",
    "read_snapshot_table",
    "snapshot_lock",
    "table_files",
    "table_glob",
]

PARTITIONED = ("events", "interactions")


def day_folder(folder: Path, name: str, day: str) -> Path:
    return Path(folder) / name / f"day={day}"


def table_files(folder: Path, name: str) -> list[Path]:
    """The Parquet files that hold table ``name`` of the snapshot in ``folder``, in day
    order (none for an empty partitioned table)."""
    folder = Path(folder)
    single = folder / f"{name}.parquet"
    if name in PARTITIONED and (folder / name).is_dir():
        return sorted((folder / name).glob("day=*/*.parquet"))
    return [single] if single.exists() else []


def table_glob(folder: Path, name: str) -> str | None:
    """One glob pattern that matches the table's files (for DuckDB), None when it has none."""
    folder = Path(folder)
    if name in PARTITIONED and (folder / name).is_dir():
        # Any one part will do to know the table has rows; listing hundreds of days twice
        # showed in the time of every analytics command.
        if next((folder / name).glob("day=*/*.parquet"), None) is None:
            return None
        return str(folder / name / "day=*" / "*.parquet")
    single = folder / f"{name}.parquet"
    return str(single) if single.exists() else None


def read_snapshot_table(folder: Path, name: str, columns: Sequence[str] | None = None
                        ) -> pa.Table:
    """Table ``name`` of a snapshot as one Arrow table (empty when it has no rows),
    whatever the layout."""
    schema = SCHEMAS[name]
    files = table_files(folder, name)
    if not files:
        empty = schema.empty_table()
        return empty.select(list(columns)) if columns is not None else empty
    # The file list, not the folder: no "day" column is added from the path.
    return pq.read_table([str(f) for f in files], schema=schema,
                         columns=list(columns) if columns is not None else None)


@contextmanager
def snapshot_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the snapshot folder's lock: exclusive to change it, shared to read it.

    A folder we may not write (a snapshot on read-only media) is read without a lock.
    """
    path = Path(folder) / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock
