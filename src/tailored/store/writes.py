"""Writing one chunk of stitched events, and the upserts of the catalog and social graph."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tailored.events import ValidEvent
from tailored.identity import IdentityGraph, Node, NodeState, ProfileState
from tailored.store.personal import PersonalData
from tailored.store.tables import duplicates, events, identities, merges, profiles

__all__ = [
    "apply_graph",
    "count_duplicates",
    "existing_message_ids",
    "insert_events",
    "load_graph",
    "upsert",
]

# Well under SQLite's limit of host parameters in one statement.
_IN_BATCH = 900


def _batches(values: Sequence[Any], size: int = _IN_BATCH) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


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
            events.c.message_id.in_(batch))))
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


def load_graph(
    conn: sa.Connection, nodes: Iterable[Node], personal: PersonalData, now: datetime
) -> IdentityGraph:
    """The part of the identity graph that these nodes touch."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in nodes:
        by_kind.setdefault(kind, set()).add(personal.protect_identity(kind, value))
    node_states: dict[Node, NodeState] = {}
    for kind, values in by_kind.items():
        for batch in _batches(sorted(values)):
            rows = conn.execute(sa.select(identities).where(
                identities.c.kind == kind, identities.c.value.in_(batch)))
            for r in rows:
                node = (kind, personal.reveal_identity(kind, r.value))
                node_states[node] = NodeState(r.profile_id, r.linked_at, r.first_seen,
                                              stored=True)
    profile_states: dict[str, ProfileState] = {}
    pids = sorted({s.profile_id for s in node_states.values()})
    for batch in _batches(pids):
        for r in conn.execute(sa.select(profiles).where(profiles.c.profile_id.in_(batch))):
            profile_states[r.profile_id] = ProfileState(
                profile_id=r.profile_id, user_id=r.user_id,
                traits=personal.reveal_traits(r.traits), trait_times=dict(r.trait_times),
                first_seen=r.first_seen, last_seen=r.last_seen, created_at=r.created_at,
                merged_into=r.merged_into, stored=True,
            )
    return IdentityGraph(nodes=node_states, profiles=profile_states, now=now)


def _profile_row(p: ProfileState, personal: PersonalData) -> dict[str, Any]:
    return {
        "profile_id": p.profile_id, "user_id": p.user_id, "merged_into": p.merged_into,
        "traits": personal.protect_traits(p.traits), "trait_times": p.trait_times,
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
    new_nodes, moved_nodes = [], []
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


def insert_events(
    conn: sa.Connection, batch: Sequence[tuple[ValidEvent, str]], personal: PersonalData
) -> None:
    """Insert accepted, de-duplicated events, each with its canonical profile id."""
    rows = []
    for v, pid in batch:
        e = v.event
        extra = dict(e.model_extra or {})
        extra.pop("writeKey", None)  # a credential, never stored
        if e.category is not None:
            extra["category"] = e.category
        rows.append({
            "message_id": v.message_id, "type": e.type, "event": e.event, "name": e.name,
            "profile_id": pid, "user_id": e.user_id, "anonymous_id": e.anonymous_id,
            "device_id": v.device_id, "previous_id": e.previous_id, "group_id": e.group_id,
            "platform": v.platform, "timestamp": v.timestamp, "received_at": v.received_at,
            "sent_at": e.sent_at, "original_timestamp": e.original_timestamp,
            "context": personal.protect_context(v.context), "properties": e.properties,
            "traits": personal.protect_traits(e.traits), "integrations": e.integrations,
            "extra": extra,
        })
    if rows:
        conn.execute(events.insert(), rows)
