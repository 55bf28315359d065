"""The store's history marker: which days of stored events changed in place.

New events are found by their id, so an append needs no marker. What a reader of a copy (a
Parquet snapshot) cannot see from new rows is history that moved or vanished: a merge moves
the loser's events to the survivor, an erasure or a purge deletes events. Every such write
calls :func:`mark_history_changed` (or :func:`mark_all_history_changed`) in its own
transaction, before it moves or deletes the rows, so the days are those the rows were on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tailored.store.tables import events, history_changes

__all__ = [
    "EVERY_DAY",
    "changed_days",
    "day_of",
    "history_mark",
    "mark_all_history_changed",
    "mark_history_changed",
]

EVERY_DAY = "*"
_BATCH = 900  # well under SQLite's limit of host parameters in one statement


def day_of(column: sa.ColumnElement[Any], dialect: sa.Dialect) -> sa.ColumnElement[str]:
    """The UTC day (``YYYY-MM-DD``) of a time column, computed in the database."""
    if dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD", type_=sa.String)
    # SQLite keeps UTC times as fixed-width text that starts with the day.
    return sa.func.substr(column, 1, 10, type_=sa.String)


def mark_history_changed(conn: sa.Connection, profile_ids: Sequence[str],
                         now: datetime | None = None, *,
                         only: sa.ColumnElement[bool] | None = None) -> None:
    """Record the days on which these profiles have events (``only`` those matching it,
    when given), before their events move or go."""
    now = now or datetime.now(UTC)
    ids = sorted(set(profile_ids))
    day = day_of(events.c.timestamp, conn.dialect)
    for i in range(0, len(ids), _BATCH):
        batch = ids[i:i + _BATCH]
        conn.execute(history_changes.insert().from_select(
            ["day", "recorded_at"],
            sa.select(day, sa.literal(now, type_=history_changes.c.recorded_at.type))
            .where(events.c.profile_id.in_(batch), sa.true() if only is None else only)
            .distinct()))


def mark_all_history_changed(conn: sa.Connection, now: datetime | None = None) -> None:
    """Record that any day may have changed (a purge across the whole store)."""
    conn.execute(history_changes.insert().values(day=EVERY_DAY,
                                                 recorded_at=now or datetime.now(UTC)))


def history_mark(conn: sa.Connection) -> int:
    """The store's history marker: it goes up whenever stored history changes in place."""
    return int(conn.scalar(sa.select(sa.func.max(history_changes.c.id))) or 0)


def changed_days(conn: sa.Connection, since: int, upto: int) -> set[str]:
    """The days whose history changed after marker ``since`` up to ``upto``
    (:data:`EVERY_DAY` among them when any day may have)."""
    return set(conn.scalars(sa.select(history_changes.c.day).distinct().where(
        history_changes.c.id > since, history_changes.c.id <= upto)))
