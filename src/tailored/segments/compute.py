"""Computing rule segments: for everyone from a snapshot (one query), or for one person from
the store (in process), and recording the membership."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.events.names import SEGMENT_EVENTS, EventName
from tailored.segments.compile import evaluation_query
from tailored.segments.conditions import Rule, TraitRule, leaves
from tailored.segments.definitions import get_segment, segment_rule, stored_trait_names
from tailored.segments.live import live_segments, record_members, refresh_people
from tailored.segments.membership import profile_segments, record_membership, set_member
from tailored.segments.person import evaluate
from tailored.segments.person_data import load_person
from tailored.segments.rules import check_events, trait_warnings
from tailored.store import Store
from tailored.store.tables import events

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tailored.analytics.source import Source

__all__ = ["EMPTY_NOTE", "check_person", "compute_rules", "compute_segments",
           "snapshot_event_names"]

EMPTY_NOTE = "no profile matches the rule: the segment is empty"


def snapshot_event_names(source: Source, *, standard: bool = True) -> set[str]:
    """The track event names in the snapshot, and (``standard``) the e-commerce names."""
    ev = source.events
    names = ev.filter(ev.event.notnull()).select("event").distinct().execute()["event"]
    present = {str(n) for n in names}
    return present | {e.value for e in EventName} | SEGMENT_EVENTS if standard else present


def compute_rules(store: Store, source: Source, rules: Mapping[str, Rule], *,
                  kind: str = "rule", as_of: datetime | None = None,
                  metrics: ir.Table | None = None, people: ir.Table | None = None,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """Evaluate named rules for everyone in ``source`` (or in ``people``) in one query and
    record each one's membership. Returns, per segment, its size, who entered and left, and
    a note when empty. ``metrics`` and ``people`` as for
    :func:`~tailored.segments.compile.evaluation_query`; ``now`` (default the wall clock)
    is when the changes are recorded. A live segment's changes are recorded as its live
    updates are, Segment Entered/Exited events included (one history)."""
    started = time.perf_counter()
    frame = evaluation_query(rules, source, as_of=as_of, metrics=metrics,
                             people=people).execute()
    query_seconds = time.perf_counter() - started
    out = []
    now = now or datetime.now(UTC)
    with store.reading() as conn:
        live = live_segments(conn)
    for name in rules:
        members = frame.loc[frame[name].fillna(False).astype(bool), "profile_id"]
        if name in live:
            result = record_members(store, name, members.tolist(), now=now)
        else:
            result = record_membership(store, name, members.tolist(), at=now, kind=kind)
        if result["size"] == 0:
            result["note"] = EMPTY_NOTE
        out.append(result)
    if out:
        out[0]["query_seconds"] = round(query_seconds, 3)
    return out


def compute_segments(store: Store, source: Source, names: Sequence[str], *,
                     as_of: datetime | None = None, now: datetime | None = None
                     ) -> list[dict[str, Any]]:
    """Compute stored rule segments by name (event names checked against the snapshot)."""
    present = snapshot_event_names(source, standard=False)
    known = present | {e.value for e in EventName} | SEGMENT_EVENTS
    rows = {name: get_segment(store, name) for name in names}
    rules = {name: segment_rule(store, name, segment=rows[name]) for name in names}
    for rule in rules.values():
        check_events(rule, known, seen=present, place="snapshot")
    kinds: dict[str, list[str]] = {}
    for name in names:
        kinds.setdefault(rows[name]["kind"], []).append(name)
    results = []
    for kind, group in kinds.items():
        results += compute_rules(store, source, {n: rules[n] for n in group}, kind=kind,
                                 as_of=as_of, now=now)
    traits: set[str] | None = None
    for result in results:
        rule = rules[result["segment"]]
        # The built-in segments name traits a store may not have (income): no noise there.
        if rows[result["segment"]]["kind"] != "rule" or not any(
                isinstance(leaf, TraitRule) for _, leaf in leaves(rule)):
            continue
        traits = stored_trait_names(store) if traits is None else traits
        if warnings := trait_warnings(rule, traits):
            result["warnings"] = warnings
    return results


def _store_latest_event(store: Store) -> datetime | None:
    with store.reading() as conn:
        latest = conn.scalar(sa.select(sa.func.max(events.c.timestamp)))
    if latest is None:
        return None
    if isinstance(latest, str):  # SQLite keeps UTC text
        latest = datetime.fromisoformat(latest)
    return latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest.astimezone(UTC)


def check_person(store: Store, name: str, person: str, *, as_of: datetime | None = None,
                 record: bool = True) -> dict[str, Any]:
    """Recompute segment ``name`` for one person in process, from the store, and (with
    ``record``) update their membership.

    ``as_of`` as for the batch path: by default the store's latest event, every event
    counting; given, only events strictly before it.
    """
    segment = get_segment(store, name)
    rule = segment_rule(store, name, segment=segment)
    live = record and segment.get("live_since") is not None
    if live:
        # A live segment is evaluated as the worker does (at the clock's time, events at it
        # counting) and recorded through the live path: Segment Entered/Exited included.
        when, inclusive = (as_of or datetime.now(UTC)).astimezone(UTC), True
    elif as_of is None:
        when, inclusive = _store_latest_event(store) or datetime.now(UTC), True
    else:
        when, inclusive = as_of.astimezone(UTC), False
    pid, view = load_person(store, person, as_of=when, inclusive=inclusive)
    member = evaluate(rule, view, as_of=when, inclusive=inclusive)
    result: dict[str, Any] = {"segment": name, "profile_id": pid, "member": member,
                              "as_of": when.isoformat(), "metrics": dict(view.metrics)}
    if live:
        was = any(s["current"] and s["segment"] == name for s in profile_segments(store, pid))
        refresh_people(store, [pid], now=when)
        result.update(was_member=was, change="entered" if member and not was else
                      "left" if was and not member else None)
    elif record:
        change = set_member(store, name, pid, member, kind=segment["kind"])
        result.update(was_member=change["was_member"], change=change["change"])
    return result
