"""Writing one chunk of stitched events, and the upserts of the catalog and social graph."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
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
from tailored.store.changes import mark_history_changed
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
    A merge does not touch the cache's other entries: the loser is remembered as forwarded
    to its survivor, and a cached node still pointing at it is corrected when next read
    (the store moved it in the same commit). Bounded: past ``limit`` entries it keeps the
    half used most recently, so a large store costs no more a chunk than a small one.
    """

    def __init__(self, limit: int = 300_000) -> None:
        self.limit = limit
        self.version: int | None = None
        self.nodes: dict[Node, NodeState] = {}
        self.profiles: dict[str, ProfileState] = {}
        self.forward: dict[str, str] = {}

    def clear(self) -> None:
        self.version = None
        self.nodes.clear()
        self.profiles.clear()
        self.forward.clear()

    def check(self, version: int) -> None:
        if self.version != version:
            self.clear()

    def node(self, node: Node) -> NodeState | None:
        """A cached node, pointing at its profile's survivor if that was merged away."""
        state = self.nodes.get(node)
        if state is not None and state.profile_id in self.forward:
            pid = state.profile_id
            while pid in self.forward:
                pid = self.forward[pid]
            state.profile_id = pid
        return state

    def keep(self, graph: IdentityGraph, version: int) -> None:
        """Remember a committed chunk's graph as the state at ``version``."""
        for m in graph.merges:
            if m.kind == "merge":
                self.forward[m.from_profile] = graph.canonical(m.from_profile)
                self.profiles.pop(m.from_profile, None)
        nodes, profiles = self.nodes, self.profiles
        # Re-inserted, so the dicts' order is the order of last use.
        for node, state in graph.nodes.items():
            state.stored, state.dirty = True, False
            nodes.pop(node, None)
            nodes[node] = state
        for pid, p in graph.profiles.items():
            p.stored, p.dirty, p.changed = True, False, False
            profiles.pop(pid, None)
            if p.merged_into is None:
                profiles[pid] = p
        if len(nodes) + len(self.forward) > self.limit:
            self._shrink()
        self.version = version

    def _shrink(self) -> None:
        # Every forward is settled first: no node kept may point at a loser once the
        # forwards are gone.
        for node in self.nodes:
            self.node(node)
        self.forward.clear()
        half = self.limit // 2
        if len(self.nodes) > half:
            self.nodes = dict(itertools.islice(self.nodes.items(), len(self.nodes) - half,
                                               None))
        if len(self.profiles) > half:
            self.profiles = dict(itertools.islice(self.profiles.items(),
                                                  len(self.profiles) - half, None))


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
        cached = cache.node(node) if cache else None
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


def _when(dialect: sa.Dialect) -> Callable[[datetime | None], Any]:
    """Times in the form the driver takes, as UTCDateTime would bind them: aware UTC, and on
    SQLite its fixed-width text."""
    def utc(t: datetime) -> datetime:
        if t.tzinfo is UTC:
            return t
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)

    if dialect.name == "sqlite":
        def when(t: datetime | None) -> Any:
            return None if t is None else utc(t).isoformat(sep=" ", timespec="microseconds")[:26]
        return when
    return lambda t: None if t is None else utc(t)


def _executemany(conn: sa.Connection, stmt: sa.Insert | sa.Update,
                 rows: list[dict[str, Any]]) -> None:
    """An executemany handed straight to the driver, the rows already in its form: the
    per-value type processing of SQLAlchemy cost more than the statements themselves."""
    if not rows:
        return
    compiled = stmt.compile(dialect=conn.dialect)
    if compiled.positional:
        order = compiled.positiontup or []
        conn.exec_driver_sql(compiled.string, [tuple(r[n] for n in order) for r in rows])
    else:
        conn.exec_driver_sql(compiled.string, rows)


def _bound(table: sa.Table, names: Sequence[str], where: Sequence[str] = ()
           ) -> sa.Insert | sa.Update:
    """INSERT of ``names``, or UPDATE of them keyed on ``where``, with named parameters
    (``w_`` before the keys, so they never clash with the values)."""
    values: dict[str, Any] = {n: sa.bindparam(n) for n in names}
    if not where:
        return table.insert().values(values)
    return table.update().where(
        *(table.c[k] == sa.bindparam(f"w_{k}") for k in where)).values(values)


_PROFILE_CORE = ("user_id", "merged_into", "traits", "trait_times", "first_seen", "last_seen")


def _profile_row(p: ProfileState, personal: PersonalData,
                 when: Callable[[datetime | None], Any]) -> dict[str, Any]:
    return {
        "profile_id": p.profile_id, "user_id": p.user_id, "merged_into": p.merged_into,
        "traits": _dumps(personal.protect_traits(p.traits)),
        "trait_times": _dumps({k: trait_time_text(v) for k, v in p.trait_times.items()}),
        "first_seen": when(p.first_seen), "last_seen": when(p.last_seen),
        "created_at": when(p.created_at),
    }


def apply_graph(
    conn: sa.Connection, graph: IdentityGraph, personal: PersonalData, now: datetime
) -> None:
    """Write back what the graph changed: profiles, merges (moving history), nodes."""
    when = _when(conn.dialect)
    for p in graph.profiles.values():
        if p.merged_into is not None:
            p.merged_into = graph.canonical(p.profile_id)
    new = [_profile_row(p, personal, when) for p in graph.profiles.values() if not p.stored]
    _executemany(conn, _bound(profiles, [c.name for c in profiles.columns]), new)
    # History moves with the merges, for the whole chunk at once: nothing is copied, so
    # nothing can be lost, and the cost is the rows moved, not the merges or the tables.
    forward = {m.from_profile: graph.canonical(m.from_profile)
               for m in graph.merges if m.kind == "merge"}
    if forward:
        # The days this history lies on change: snapshots must rebuild them.
        mark_history_changed(conn, list(forward), now)
        _move_history(conn, forward)
    for move in graph.moves:
        # An alias took an anonymous id from one identified person to another: its
        # anonymous events go along, the rest of that person's history stays.
        source, into = graph.canonical(move.from_profile), graph.canonical(move.into_profile)
        if source != into:
            mark_history_changed(conn, [source], now, only=sa.and_(
                events.c.anonymous_id == move.anonymous_id, events.c.user_id.is_(None)))
            conn.execute(events.update().where(
                events.c.profile_id == source, events.c.anonymous_id == move.anonymous_id,
                events.c.user_id.is_(None)).values(profile_id=into))
    # Most profiles a chunk touches only had their time span widened: two times, no JSON.
    full, span = [], []
    for p in graph.profiles.values():
        if not (p.stored and p.dirty):
            continue
        if p.changed:
            row = _profile_row(p, personal, when)
            full.append({"w_profile_id": p.profile_id, **{c: row[c] for c in _PROFILE_CORE}})
        else:
            span.append({"w_profile_id": p.profile_id, "first_seen": when(p.first_seen),
                         "last_seen": when(p.last_seen)})
    _executemany(conn, _bound(profiles, _PROFILE_CORE, ["profile_id"]), full)
    _executemany(conn, _bound(profiles, ["first_seen", "last_seen"], ["profile_id"]), span)
    new_nodes: list[dict[str, Any]] = []
    moved_nodes: list[dict[str, Any]] = []
    for (kind, value), s in graph.nodes.items():
        if not s.dirty:
            continue
        protected = personal.protect_identity(kind, value)
        row = {"profile_id": graph.canonical(s.profile_id), "linked_at": when(s.linked_at),
               "first_seen": when(s.first_seen)}
        if s.stored:
            moved_nodes.append({"w_kind": kind, "w_value": protected, **row})
        else:
            new_nodes.append({"kind": kind, "value": protected, **row})
    _executemany(conn, _bound(identities, ["kind", "value", "profile_id", "linked_at",
                                           "first_seen"]), new_nodes)
    _executemany(conn, _bound(identities, ["profile_id", "linked_at", "first_seen"],
                              ["kind", "value"]), moved_nodes)
    _executemany(conn, _bound(merges, [c.name for c in merges.columns if c.name != "id"]), [{
        "kind": m.kind, "from_profile": m.from_profile, "into_profile": m.into_profile,
        "identity_kind": m.identity_kind,
        "identity_value": personal.protect_identity(m.identity_kind, m.identity_value),
        "cause": m.cause, "message_id": m.message_id, "event_time": when(m.event_time),
        "recorded_at": when(now),
    } for m in graph.merges])


_MERGE_MAP = "tailored_merge_map"


def _move_history(conn: sa.Connection, forward: dict[str, str]) -> None:
    """Point every event, identity and merged profile of each loser at its survivor.

    One temporary table maps loser to survivor; one UPDATE per table follows it. On
    SQLite the loop goes over the map and searches the tables' profile indexes (an
    UPDATE ... FROM would scan the whole table); PostgreSQL plans its UPDATE ... FROM
    as index look-ups once the map has statistics.
    """
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_MERGE_MAP} "
                         "(from_profile VARCHAR(36) PRIMARY KEY, "
                         "into_profile VARCHAR(36) NOT NULL)")
    conn.exec_driver_sql(f"DELETE FROM {_MERGE_MAP}")
    m = sa.table(_MERGE_MAP, sa.column("from_profile"), sa.column("into_profile"))
    conn.execute(m.insert(), [{"from_profile": f, "into_profile": i}
                              for f, i in forward.items()])
    targets = ((events, events.c.profile_id), (identities, identities.c.profile_id),
               (profiles, profiles.c.merged_into))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {_MERGE_MAP}")
        for table, column in targets:
            conn.execute(table.update().where(column == m.c.from_profile)
                         .values({column.name: m.c.into_profile}))
        return
    for table, column in targets:
        survivor = (sa.select(m.c.into_profile).where(m.c.from_profile == column)
                    .scalar_subquery())
        conn.execute(table.update().where(column.in_(sa.select(m.c.from_profile)))
                     .values({column.name: survivor}))


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
    protect_context, protect_traits = personal.protect_context, personal.protect_traits
    # A chunk shares one receive time: its text is made once.
    received, received_text = None, None
    for v, pid in batch:
        e = v.event
        if v.received_at is not received:
            received, received_text = v.received_at, when(v.received_at)
        model_extra = e.model_extra
        if model_extra or e.category is not None:
            extra = dict(model_extra) if model_extra else {}
            extra.pop("writeKey", None)  # a credential, never stored
            if e.category is not None:
                extra["category"] = e.category
            extra_text = _dumps(extra) if extra else "{}"
        else:
            extra_text = "{}"
        timestamp = v.timestamp
        rows.append((
            v.message_id, e.type, e.event, e.name, pid, e.user_id, e.anonymous_id,
            v.device_id, e.previous_id, e.group_id, v.platform,
            received_text if timestamp is received else when(timestamp), received_text,
            None if e.sent_at is None else when(e.sent_at),
            None if e.original_timestamp is None else when(e.original_timestamp),
            _dumps(protect_context(v.context)), _dumps(e.properties),
            _dumps(protect_traits(e.traits)) if e.traits else "{}",
            _dumps(e.integrations) if e.integrations else "{}",
            extra_text,
        ))
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
