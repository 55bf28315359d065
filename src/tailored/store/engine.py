"""Opening a database from its URL: SQLite (embedded, WAL) or PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url

from tailored.errors import StoreUnavailable
from tailored.extras import require
from tailored.store.checkpoints import WAL_AUTOCHECKPOINT
from tailored.store.presence import check_sqlite_file

__all__ = ["create_store_engine", "normalise_url", "safe_url"]


def normalise_url(url: str) -> str:
    """The URL with Tailored's drivers: psycopg 3 for PostgreSQL."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreUnavailable(f"not a database URL: {url!r} ({exc})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreUnavailable(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///PATH or "
            "postgresql://USER@HOST/DB"
        )
    return parsed.render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def create_store_engine(url: str) -> sa.Engine:
    """An engine for the store; fails with StoreUnavailable if the database can't be used."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        check_sqlite_file(url, safe_url(url))
        engine = sa.create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"timeout": 60},
        )
        _configure_sqlite(engine)
    else:
        require("psycopg", "postgres")
        engine = sa.create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            pool_pre_ping=True,
            # No server-side prepared statements: psycopg prepares a statement after five
            # runs, and a plan made while the events table was small (a sequential scan)
            # stayed in use as it grew, making the duplicate check of a bulk load quadratic.
            connect_args={"connect_timeout": 5, "prepare_threshold": None},
        )
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StoreUnavailable(f"cannot reach the database {safe_url(url)}: {reason}") from None
    return engine


def _configure_sqlite(engine: sa.Engine) -> None:
    # WAL lets a CLI and a running server share the file: readers never block the writer.
    # pysqlite's own transaction handling is turned off so that writers can take the write
    # lock up front (BEGIN IMMEDIATE) and never fail half-way on a lock upgrade.
    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        # A bigger page cache (128 MiB at most, used only as a store grows) keeps the
        # indexes of a large store in memory: random messageId inserts and look-ups would
        # otherwise go to disk page by page.
        cur.execute("PRAGMA cache_size=-131072")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        # Deleted and overwritten content is zeroed, not left in free space: an erased
        # person's name or e-mail must not be readable from the file afterwards.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
