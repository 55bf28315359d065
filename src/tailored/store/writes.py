"""Writing one chunk of stitched events, and the upserts of the catalog and social graph."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tailored.events import ValidEvent
from tailored.identity import (
    IdentityGraph,
    Node,
    NodeState,
    ProfileState,
    parse_trait_time,
    trait_time_text,
)
from tailored.store.personal import PersonalData
from tailored.store.tables import counters, duplicates, events, identities, merges, profiles

__all__ = [
    "GraphCache",
    "apply_graph",
    "bump_graph_version",
    "count_duplicates",
    "existing_message_ids",
    "graph_version",
    "insert_events",
    "invalidate_graph",
    "load_graph",
    "upsert",
]

# Well under SQLite's limit of host parameters in one statement.
_IN_BATCH = 900


def _batches(values: Sequence[Any], size: int = _IN_BATCH) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _one_of(column: sa.ColumnElement[Any], values: Sequence[Any], dialect: sa.Dialect
            ) -> sa.ColumnElement[bool]:
    """``column IN values``: on PostgreSQL as ``= ANY(array)``, one parameter whose plan does
    not hinge on table statistics (a long IN list was planned as a sequential scan on a
    table never analysed)."""
    if dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values),
                                              type_=postgresql.ARRAY(sa.String)))
    return column.in_(values)


def upsert(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], keys: Sequence[str],
    *, keep: Sequence[str] = (),
) -> None:
    """Insert rows, updating those whose keys exist (all columns but ``keys`` and ``keep``)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    updates = {
        c.name: stmt.excluded[c.name]
        for c in table.columns
        if c.name not in keys and c.name not in keep and c.name in rows[0]
    }
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)


def existing_message_ids(conn: sa.Connection, message_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for batch in _batches(list(message_ids)):
        found.update(conn.scalars(sa.select(events.c.message_id).where(
            _one_of(events.c.message_id, batch, conn.dialect))))
    return found


def count_duplicates(conn: sa.Connection, message_ids: Sequence[str], now: datetime) -> None:
    counts: dict[str, int] = {}
    for mid in message_ids:
        counts[mid] = counts.get(mid, 0) + 1
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(duplicates)
    stmt = stmt.on_conflict_do_update(
        index_elements=["message_id"],
        set_={"count": duplicates.c.count + stmt.excluded["count"], "last_at": now},
    )
    conn.execute(stmt, [
        {"message_id": m, "count": c, "first_at": now, "last_at": now}
        for m, c in counts.items()
    ])


class GraphCache:
    """The identity nodes and profiles this process last committed, reused across chunks.

    Valid only while the store's graph version is the one this process wrote last: another
    writer bumps the version and the cache is dropped, so it never serves stale links.
    Bounded: past ``limit`` nodes it starts again.
    """

    def __init__(self, limit: int = 300_000) -> None:
        self.limit = limit
        self.version: int | None = None
        self.nodes: dict[Node, NodeState] = {}
        self.profiles: dict[str, ProfileState] = {}

    def clear(self) -> None:
        self.version = None
        self.nodes.clear()
        self.profiles.clear()

    def check(self, version: int) -> None:
        if self.version != version:
            self.clear()

    def keep(self, graph: IdentityGraph, version: int) -> None:
        """Remember a committed chunk's graph as the state at ``version``."""
        losers = {m.from_profile for m in graph.merges if m.kind == "merge"}
        if losers:
            # Cached nodes outside this chunk may still point at a profile merged away.
            self.nodes = {n: s for n, s in self.nodes.items() if s.profile_id not in losers}
            for pid in losers:
                self.profiles.pop(pid, None)
        for state in graph.nodes.values():
            state.stored, state.dirty = True, False
        for p in graph.profiles.values():
            p.stored, p.dirty = True, False
        self.nodes.update(graph.nodes)
        self.profiles.update(
            (pid, p) for pid, p in graph.profiles.items() if p.merged_into is None)
        if len(self.nodes) > self.limit:
            self.clear()
        else:
            self.version = version


def graph_version(conn: sa.Connection) -> int:
    return int(conn.scalar(sa.select(counters.c.value)
                           .where(counters.c.name == "identity_graph")) or 0)


def bump_graph_version(conn: sa.Connection, version: int) -> int:
    conn.execute(counters.update().where(counters.c.name == "identity_graph")
                 .values(value=version + 1))
    return version + 1


def invalidate_graph(conn: sa.Connection) -> int:
    """Tell every process that its cached identity graph is stale: any write to identities
    or profiles outside ingestion (erasure, computed traits) must call this in its
    transaction, or a server's ingestor keeps writing to nodes and profiles that are gone."""
    version = graph_version(conn) + 1
    upsert(conn, counters, [{"name": "identity_graph", "value": version}], ["name"])
    return version


def load_graph(
    conn: sa.Connection, nodes: Iterable[Node], personal: PersonalData, now: datetime,
    cache: GraphCache | None = None,
) -> IdentityGraph:
    """The part of the identity graph that these nodes touch."""
    node_states: dict[Node, NodeState] = {}
    by_kind: dict[str, set[str]] = {}
    for node in nodes:
        cached = cache.nodes.get(node) if cache else None
        if cached is not None:
            node_states[node] = cached
        else:
            by_kind.setdefault(node[0], set()).add(personal.protect_identity(*node))
    for kind, values in by_kind.items():
        for batch in _batches(sorted(values)):
            rows = conn.execute(
                sa.select(identities.c.value, identities.c.profile_id, identities.c.linked_at,
                          identities.c.first_seen)
                .where(identities.c.kind == kind,
                       _one_of(identities.c.value, batch, conn.dialect)))
            for value, pid, linked_at, first_seen in rows:
                node_states[(kind, personal.reveal_identity(kind, value))] = NodeState(
                    pid, linked_at, first_seen, stored=True)
    profile_states: dict[str, ProfileState] = {}
    wanted = []
    for pid in {s.profile_id for s in node_states.values()}:
        cached_profile = cache.profiles.get(pid) if cache else None
        if cached_profile is not None:
            profile_states[pid] = cached_profile
        else:
            wanted.append(pid)
    for batch in _batches(sorted(wanted)):
        for r in conn.execute(sa.select(profiles).where(
                _one_of(profiles.c.profile_id, batch, conn.dialect))):
            profile_states[r.profile_id] = ProfileState(
                profile_id=r.profile_id, user_id=r.user_id,
                traits=personal.reveal_traits(r.traits),
                trait_times={k: parse_trait_time(v) for k, v in (r.trait_times or {}).items()},
                first_seen=r.first_seen, last_seen=r.last_seen, created_at=r.created_at,
                merged_into=r.merged_into, stored=True,
            )
    return IdentityGraph(nodes=node_states, profiles=profile_states, now=now)


def _profile_row(p: ProfileState, personal: PersonalData) -> dict[str, Any]:
    return {
        "profile_id": p.profile_id, "user_id": p.user_id, "merged_into": p.merged_into,
        "traits": personal.protect_traits(p.traits),
        "trait_times": {k: trait_time_text(v) for k, v in p.trait_times.items()},
        "first_seen": p.first_seen, "last_seen": p.last_seen, "created_at": p.created_at,
    }


def apply_graph(
    conn: sa.Connection, graph: IdentityGraph, personal: PersonalData, now: datetime
) -> None:
    """Write back what the graph changed: profiles, merges (moving history), nodes."""
    for p in graph.profiles.values():
        if p.merged_into is not None:
            p.merged_into = graph.canonical(p.profile_id)
    new = [_profile_row(p, personal) for p in graph.profiles.values() if not p.stored]
    if new:
        conn.execute(profiles.insert(), new)
    for m in graph.merges:
        if m.kind != "merge":
            continue
        # History moves with the merge; nothing is copied, so nothing can be lost.
        conn.execute(events.update().where(events.c.profile_id == m.from_profile)
                     .values(profile_id=m.into_profile))
        conn.execute(identities.update().where(identities.c.profile_id == m.from_profile)
                     .values(profile_id=m.into_profile))
        conn.execute(profiles.update().where(profiles.c.merged_into == m.from_profile)
                     .values(merged_into=m.into_profile))
    for move in graph.moves:
        # An alias took an anonymous id from one identified person to another: its
        # anonymous events go along, the rest of that person's history stays.
        source, into = graph.canonical(move.from_profile), graph.canonical(move.into_profile)
        if source != into:
            conn.execute(events.update().where(
                events.c.profile_id == source, events.c.anonymous_id == move.anonymous_id,
                events.c.user_id.is_(None)).values(profile_id=into))
    changed = [p for p in graph.profiles.values() if p.stored and p.dirty]
    if changed:
        columns = ("user_id", "merged_into", "traits", "trait_times", "first_seen", "last_seen")
        stmt = (profiles.update().where(profiles.c.profile_id == sa.bindparam("pid"))
                .values({c: sa.bindparam(f"new_{c}") for c in columns}))
        rows = []
        for p in changed:
            row = _profile_row(p, personal)
            rows.append({"pid": p.profile_id, **{f"new_{c}": row[c] for c in columns}})
        conn.execute(stmt, rows)
    new_nodes: list[dict[str, Any]] = []
    moved_nodes: list[dict[str, Any]] = []
    for (kind, value), s in graph.nodes.items():
        if not s.dirty:
            continue
        row = {"kind": kind, "value": personal.protect_identity(kind, value),
               "profile_id": graph.canonical(s.profile_id), "linked_at": s.linked_at,
               "first_seen": s.first_seen}
        (moved_nodes if s.stored else new_nodes).append(row)
    if new_nodes:
        conn.execute(identities.insert(), new_nodes)
    if moved_nodes:
        stmt = (identities.update()
                .where(identities.c.kind == sa.bindparam("k"),
                       identities.c.value == sa.bindparam("v"))
                .values(profile_id=sa.bindparam("p"), linked_at=sa.bindparam("l"),
                        first_seen=sa.bindparam("f")))
        conn.execute(stmt, [{"k": r["kind"], "v": r["value"], "p": r["profile_id"],
                             "l": r["linked_at"], "f": r["first_seen"]} for r in moved_nodes])
    if graph.merges:
        conn.execute(merges.insert(), [{
            "kind": m.kind, "from_profile": m.from_profile, "into_profile": m.into_profile,
            "identity_kind": m.identity_kind,
            "identity_value": personal.protect_identity(m.identity_kind, m.identity_value),
            "cause": m.cause, "message_id": m.message_id, "event_time": m.event_time,
            "recorded_at": now,
        } for m in graph.merges])


_EVENT_COLUMNS = tuple(c.name for c in events.columns if c.name != "id")
_COPY_EVENTS = f"COPY events ({', '.join(_EVENT_COLUMNS)}) FROM STDIN"
_EVENT_JSON = frozenset({"context", "properties", "traits", "integrations", "extra"})
_EVENT_TIMES = frozenset({"timestamp", "received_at", "sent_at", "original_timestamp"})


def _dumps(doc: Any) -> str:
    return orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


@functools.cache
def _event_insert(dialect: sa.Dialect) -> tuple[str, bool]:
    stmt = events.insert().values({c: sa.bindparam(c) for c in _EVENT_COLUMNS})
    compiled = stmt.compile(dialect=dialect)
    return compiled.string, bool(compiled.positional)


def insert_events(
    conn: sa.Connection, batch: Sequence[tuple[ValidEvent, str]], personal: PersonalData
) -> None:
    """Insert accepted, de-duplicated events, each with its canonical profile id.

    The hot path of every load: values are prepared here in the form the driver takes
    (JSON as text, SQLite times in the UTCDateTime text format) and handed to the driver's
    executemany, skipping per-value type processing that took half the time of a load.
    """
    if not batch:
        return
    sql, positional = _event_insert(conn.dialect)
    if conn.dialect.name == "sqlite":
        # Validated times are aware UTC; their ISO text less the offset is the UTCDateTime
        # text format.
        def when(t: datetime | None) -> Any:
            return None if t is None else t.isoformat(sep=" ", timespec="microseconds")[:26]
    else:
        def when(t: datetime | None) -> Any:
            return t

    rows: list[Any] = []
    # A chunk shares one receive time: its text is made once.
    received, received_text = None, None
    for v, pid in batch:
        e = v.event
        if v.received_at is not received:
            received, received_text = v.received_at, when(v.received_at)
        extra = dict(e.model_extra) if e.model_extra else {}
        extra.pop("writeKey", None)  # a credential, never stored
        if e.category is not None:
            extra["category"] = e.category
        values = (
            v.message_id, e.type, e.event, e.name, pid, e.user_id, e.anonymous_id,
            v.device_id, e.previous_id, e.group_id, v.platform,
            received_text if v.timestamp is received else when(v.timestamp), received_text,
            when(e.sent_at),
            when(e.original_timestamp),
            _dumps(personal.protect_context(v.context)), _dumps(e.properties),
            _dumps(personal.protect_traits(e.traits)) if e.traits else "{}",
            _dumps(e.integrations) if e.integrations else "{}",
            _dumps(extra) if extra else "{}",
        )
        rows.append(values)
    if conn.dialect.name == "postgresql":
        # COPY is PostgreSQL's bulk path: one stream instead of a round trip per row
        # (executemany through the driver took over a millisecond a row).
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(_COPY_EVENTS) as copy:
            for values in rows:
                copy.write_row(values)
        return
    conn.exec_driver_sql(sql, rows if positional else [
        dict(zip(_EVENT_COLUMNS, values, strict=True)) for values in rows])
