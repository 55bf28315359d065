"""Named segment definitions in the store: define, read, list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tailored.errors import InvalidInput, NotFound
from tailored.events.names import SEGMENT_EVENTS, EventName
from tailored.segments.conditions import Rule, TraitRule, event_names, leaves
from tailored.segments.live_rules import check_live
from tailored.segments.membership import ensure_segment, require_segment, segment_sizes
from tailored.segments.rules import check_events, parse_rule, trait_warnings
from tailored.store import Store
from tailored.store.tables import events, segments

__all__ = ["RULE_KINDS", "define_segment", "get_segment", "known_event_names", "list_segments",
           "segment_rule", "stored_event_names", "stored_trait_names"]

# Kinds whose definition is a rule this package evaluates; other kinds (rfm, cluster, ...)
# are recorded by the model that makes them.
RULE_KINDS = ("rule", "lifecycle")


def stored_event_names(store: Store) -> set[str]:
    """The track event names in the store."""
    with store.reading() as conn:
        return set(conn.scalars(sa.select(events.c.event).where(
            events.c.type == "track", events.c.event.is_not(None)).distinct()))


def known_event_names(store: Store) -> set[str]:
    """The track event names in the store, and the e-commerce names every store understands
    (so a segment can be defined before its first such event arrives)."""
    return stored_event_names(store) | {e.value for e in EventName} | SEGMENT_EVENTS


def stored_trait_names(store: Store) -> set[str]:
    """Every trait name some profile has (names are stored in clear; values may not be)."""
    with store.reading() as conn:
        if conn.dialect.name == "postgresql":
            sql = "SELECT DISTINCT jsonb_object_keys(traits) FROM profiles"
        else:
            sql = ("SELECT DISTINCT j.key FROM profiles, json_each(profiles.traits) AS j "
                   "WHERE json_type(profiles.traits) = 'object'")
        return {str(k) for k in conn.exec_driver_sql(sql).scalars()}


def _trait_warnings(store: Store, rule: Rule) -> list[str]:
    if not any(isinstance(leaf, TraitRule) for _, leaf in leaves(rule)):
        return []
    return trait_warnings(rule, stored_trait_names(store))


def define_segment(store: Store, name: str, doc: Any, *, kind: str = "rule",
                   description: str | None = None, live: bool | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """Check the rule ``doc`` (event names against the store's) and save it under ``name``,
    replacing an earlier definition (its membership history stays).

    ``live`` True or False makes the segment live or not (:mod:`.live`); None keeps it as it
    was. A live rule is checked to be one that can be kept live before anything is written,
    and everyone is due for a fresh evaluation under it at ``now`` (default: the clock)."""
    from tailored.segments.live import set_live  # live reads definitions: import at use

    rule = parse_rule(doc)
    if event_names(rule):
        present = stored_event_names(store)
        check_events(rule, present | {e.value for e in EventName} | SEGMENT_EVENTS,
                     seen=present, place="store")
    if kind not in RULE_KINDS:
        raise InvalidInput(f"a rule segment's kind is one of {', '.join(RULE_KINDS)}, got "
                           f"{kind!r}", field="kind")
    with store.reading() as conn:
        was_live = conn.scalar(sa.select(segments.c.live_since)
                               .where(segments.c.name == name)) is not None
    keep_live = was_live if live is None else live
    if keep_live:
        if kind != "rule":
            raise InvalidInput(f"segment {name!r} cannot be live: it is a {kind} segment; "
                               "only rule segments can be", field="kind")
        check_live(rule, name)
    now = now or datetime.now(UTC)
    with store.transaction() as conn:
        existed = conn.scalar(sa.select(segments.c.name).where(segments.c.name == name))
        ensure_segment(conn, name, kind, now=now, definition=doc, description=description,
                       replace_definition=True)
    if keep_live or was_live:
        set_live(store, name, keep_live, now=now)
    return {"segment": name, "kind": kind, "definition": doc, "replaced": existed is not None,
            "conditions": _count_leaves(rule), "warnings": _trait_warnings(store, rule),
            "live": keep_live}


def _count_leaves(rule: Rule) -> int:
    return sum(1 for _ in leaves(rule))


def get_segment(store: Store, name: str) -> dict[str, Any]:
    """One segment: kind, definition, description, times and current size."""
    with store.reading() as conn:
        row = conn.execute(sa.select(segments).where(segments.c.name == name)).first()
        if row is None:
            require_segment(conn, name)  # raises NotFound, naming close names
            raise NotFound(f"no segment {name!r}")
    data = dict(row._mapping)
    data["size"] = segment_sizes(store, [name]).get(name, 0)
    return data


def list_segments(store: Store) -> list[dict[str, Any]]:
    """Every segment with its kind, current size and when it was last computed."""
    sizes = segment_sizes(store)
    with store.reading() as conn:
        rows = conn.execute(sa.select(segments.c.name, segments.c.kind, segments.c.description,
                                      segments.c.updated_at, segments.c.computed_at,
                                      segments.c.live_since)
                            .order_by(segments.c.name)).all()
    return [{**dict(r._mapping), "size": sizes.get(r.name, 0)} for r in rows]


def segment_rule(store: Store, name: str, *, known_events: set[str] | None = None,
                 segment: dict[str, Any] | None = None) -> Rule:
    """The parsed rule of a rule segment (``segment``: its row, if already read)."""
    data = segment or get_segment(store, name)
    if data["definition"] is None or data["kind"] not in RULE_KINDS:
        raise InvalidInput(f"segment {name!r} is a {data['kind']} segment, made by its model, "
                           "not by a rule", field="segment")
    return parse_rule(data["definition"], known_events=known_events)
