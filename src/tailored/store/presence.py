"""Whether a store exists yet, and one clear line when a SQLite file cannot be a store.

Commands that only read must not create a store as a side effect (an empty ``tailored.db``
left in whatever folder they ran in), and must not migrate someone else's database; commands
that write create the store and say so. Both ask here first, without writing anything: the
SQLite file is opened read-only, PostgreSQL is asked whether the migrations table exists.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tailored.errors import StoreUnavailable

__all__ = ["MIGRATIONS_TABLE", "check_sqlite_file", "holds_store", "in_memory", "sqlite_file"]

MIGRATIONS_TABLE = "alembic_version"


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///PATH`` URL (absolute); None for another backend,
    an in-memory database or a ``file:`` URI."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def in_memory(url: str) -> bool:
    """Whether ``url`` is an in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``),
    which ends with the process that opened it."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and (parsed.database or "") in ("", ":memory:")


def check_sqlite_file(url: str, shown: str) -> None:
    """Raise :class:`StoreUnavailable` in one line when the SQLite file of ``url`` cannot
    be opened as a database (``shown``: the URL as messages show it)."""
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.is_dir():
        raise StoreUnavailable(f"cannot open {shown}: no folder {path.parent}")
    if path.is_dir():
        raise StoreUnavailable(f"cannot open {shown}: {path} is a folder, not a database file")
    if not path.exists():
        if not os.access(path.parent, os.W_OK):
            raise StoreUnavailable(f"cannot create {shown}: no permission to write in "
                                   f"{path.parent}")
        return
    if not path.is_file():
        raise StoreUnavailable(f"cannot open {shown}: {path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise StoreUnavailable(f"cannot open {shown}: no permission to read {path}")
    try:
        with _read_only(path) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreUnavailable(f"cannot open {shown}: {path} is not a SQLite database "
                               f"({exc})") from None


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only sqlite3 connection, always closed (sqlite3's own context manager only
    ends the transaction)."""
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        yield conn
    finally:
        conn.close()


def holds_store(url: str, engine: sa.Engine | None = None) -> bool:
    """Whether the database at ``url`` already holds a Tailored store (its migrations table).
    SQLite is read without opening an engine (nothing is created); other backends through
    ``engine``, which must be given."""
    path = sqlite_file(url)
    if path is not None:
        if not path.is_file():
            return False
        with _read_only(path) as conn:
            row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (MIGRATIONS_TABLE,)).fetchone()
        return row is not None
    if engine is None:
        # In-memory and URI databases: nothing to find before the engine makes them.
        return False
    return sa.inspect(engine).has_table(MIGRATIONS_TABLE)
