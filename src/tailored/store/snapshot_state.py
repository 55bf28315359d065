"""What a snapshot was taken from: the store's identity and marks, read in one transaction.

A refresh compares these with the ones its manifest recorded: new event ids are appended,
a moved history marker names the days to rebuild, and a side table (profiles, identities,
items, edges, segment members) is rewritten when its fingerprint differs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tailored.store.changes import history_mark
from tailored.store.tables import (
    counters,
    edges,
    events,
    identities,
    items,
    profiles,
    segment_membership,
)
from tailored.store.writes import graph_version

__all__ = ["StoreMarks", "ensure_store_id", "read_marks", "read_store_id"]

_STORE_ID = "store_id"


@dataclass(frozen=True)
class StoreMarks:
    """The store at one moment, as far as a snapshot needs to know it."""

    store_id: int
    last_event_id: int
    events: int
    history_mark: int
    side: dict[str, list[Any]] = field(default_factory=dict)


def read_store_id(conn: sa.Connection) -> int | None:
    found = conn.scalar(sa.select(counters.c.value).where(counters.c.name == _STORE_ID))
    return None if found is None else int(found)


def ensure_store_id(conn: sa.Connection) -> int:
    """This store's random identity (made on first use): a snapshot of another store, or of
    a store recreated at the same URL, is never taken for this one's."""
    found = read_store_id(conn)
    if found is not None:
        return found
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(counters).values(name=_STORE_ID, value=secrets.randbits(62))
                 .on_conflict_do_nothing(index_elements=["name"]))
    return int(conn.scalar(sa.select(counters.c.value).where(counters.c.name == _STORE_ID))
               or 0)


def _text(value: Any) -> Any:
    return value if value is None or isinstance(value, int | float | str) else str(value)


def read_marks(conn: sa.Connection) -> StoreMarks:
    """The store's marks, read inside the caller's (snapshot) transaction."""
    store_id = read_store_id(conn)
    last_id, count = conn.execute(sa.select(sa.func.max(events.c.id), sa.func.count())).one()
    mark = history_mark(conn)
    graph = graph_version(conn)

    def row(query: sa.Select[Any, *tuple[Any, ...]]) -> list[Any]:
        return [_text(v) for v in conn.execute(query).one()]

    people = [graph, mark, *row(sa.select(sa.func.count()).select_from(profiles))]
    nodes = [graph, mark, *row(sa.select(sa.func.count()).select_from(identities))]
    side = {
        # Ingest and trait writes bump the graph version; erasure moves the history marker.
        "profiles": people,
        "identities": nodes,
        "items": row(sa.select(sa.func.count(), sa.func.max(items.c.updated_at))),
        # Edges carry the profiles of their ends, so they follow the identities too.
        "edges": [*nodes, *row(sa.select(sa.func.count(), sa.func.max(edges.c.updated_at)))],
        # Stays are only added or closed (or erased), so these three see every change.
        "segment_members": [*people, *row(sa.select(
            sa.func.count(), sa.func.max(segment_membership.c.id),
            sa.func.count(segment_membership.c.left_at)))],
    }
    return StoreMarks(store_id=int(store_id or 0), last_event_id=int(last_id or 0),
                      events=int(count), history_mark=mark, side=side)
