"""Live segments: rule segments kept current after every event of a person, and as time
passes.

The real-time worker (tailored.realtime) calls two functions here:

* :func:`refresh_people` after events land: each person named (merged ids resolved to the
  survivor; an erased one leaves) is evaluated for every live segment with the one-person
  evaluator at ``now``; each change goes into the membership history and the person's
  history as a Segment Entered / Segment Exited event (:mod:`.live_record`), and the
  person's due times are renewed.
* :func:`due_people` as the clock moves: the people whose membership could have changed
  by time alone at or before ``now`` (their due time has come, :mod:`.live_rules`).

``now`` always comes from the caller (the clock seam): nothing here reads the wall clock.
``segment compute`` on a live segment records its changes through :func:`record_members`,
so a segment has one history, whichever path noticed a change.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.errors import InvalidInput
from tailored.segments.conditions import EventRule, Rule, leaves
from tailored.segments.definitions import get_segment
from tailored.segments.live_people import Person, load_people, resolve_people
from tailored.segments.live_record import apply_changes, missing_events, save_due
from tailored.segments.live_rules import check_live, next_change
from tailored.segments.membership import require_segment
from tailored.segments.person import PersonView, evaluate
from tailored.segments.person_data import person_metrics
from tailored.segments.rules import parse_rule
from tailored.store.tables import profiles, segment_due, segment_membership, segments
from tailored.store.writes import upsert

if TYPE_CHECKING:
    from tailored.ingest import Ingestor
    from tailored.store import Store

__all__ = ["LiveSegment", "due_people", "live_segments", "record_members", "refresh_people",
           "set_live"]

log = logging.getLogger("tailored.segments.live")

# People evaluated together: one read of their events, one transaction for their changes.
_CHUNK = 500


@dataclass(frozen=True)
class LiveSegment:
    name: str
    rule: Rule
    since: datetime


def watched_events(rule: Rule, *, now: datetime) -> frozenset[str] | None:
    """The track events whose arrival can change a person's membership of ``rule``; None
    when any event can (a trait, platform or metric condition, or a rule that holds for a
    person with no history: any first event may bring someone in). Time alone is the due
    checks' part."""
    empty = PersonView(traits={}, events=[], metrics={})
    if evaluate(rule, empty, as_of=now, inclusive=True):
        return None
    names = set()
    for _, leaf in leaves(rule):
        if not isinstance(leaf, EventRule):
            return None
        names.add(leaf.event)
    return frozenset(names)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise InvalidInput("now must be timezone-aware (e.g. 2026-12-05T00:00:00+00:00)",
                           field="now")
    return now.astimezone(UTC)


def live_segments(conn: sa.Connection) -> dict[str, LiveSegment]:
    """Every live segment with its parsed rule."""
    rows = conn.execute(sa.select(segments.c.name, segments.c.definition, segments.c.live_since)
                        .where(segments.c.live_since.is_not(None))
                        .order_by(segments.c.name)).all()
    return {name: LiveSegment(name, parse_rule(doc), since) for name, doc, since in rows}


def set_live(store: Store, name: str, live: bool, *, now: datetime) -> dict[str, Any]:
    """Make a rule segment live (everyone is due for a first evaluation at ``now``) or stop
    keeping it live (its membership stays as it is, no longer updated)."""
    now = _aware(now)
    segment = get_segment(store, name)
    if live:
        if segment["kind"] != "rule" or segment["definition"] is None:
            raise InvalidInput(f"segment {name!r} cannot be live: it is a {segment['kind']} "
                               "segment; only rule segments (`segment define NAME --rule`) "
                               "can be", field="segment")
        check_live(parse_rule(segment["definition"]), name)
    with store.transaction() as conn:
        require_segment(conn, name)
        conn.execute(segment_due.delete().where(segment_due.c.segment == name))
        since = segment["live_since"] if live and segment["live_since"] else now
        conn.execute(segments.update().where(segments.c.name == name)
                     .values(live_since=since if live else None))
        due = 0
        if live:
            # Nobody has been evaluated for this rule yet: everyone is due now. (A redefined
            # rule comes here too, so its people are re-evaluated under the new rule.)
            people = sa.select(sa.literal(name), profiles.c.profile_id, sa.literal(now, type_=(
                segment_due.c.due_at.type))).where(profiles.c.merged_into.is_(None))
            conn.execute(segment_due.insert().from_select(
                ["segment", "profile_id", "due_at"], people))
            due = int(conn.scalar(sa.select(sa.func.count()).select_from(segment_due)
                                  .where(segment_due.c.segment == name)) or 0)
    return {"segment": name, "live": live, "live_since": since if live else None,
            "due": due}


def mark_due(store: Store, profile_ids: Iterable[str], *, now: datetime) -> int:
    """Make these people due now for every live segment: evaluated by the next due check
    rather than at once. A catch-up on a backlog does this: evaluating a person after each
    batch of their history reads that history batch after batch (quadratic in it); the due
    check evaluates them once, with everything handled by then. People marked."""
    now = _aware(now)
    ids = sorted({str(i) for i in profile_ids})
    if not ids:
        return 0
    with store.transaction() as conn:
        names = list(conn.scalars(sa.select(segments.c.name)
                                  .where(segments.c.live_since.is_not(None))))
        if not names:
            return 0
        rows = [{"segment": n, "profile_id": p, "due_at": now} for n in names for p in ids]
        upsert(conn, segment_due, rows, ["segment", "profile_id"])
    return len(ids)


def due_people(store: Store, *, now: datetime) -> list[str]:
    """People whose membership of a live segment could have changed by time alone at or
    before ``now`` (their due time has come), sorted."""
    now = _aware(now)
    with store.reading() as conn:
        names = set(conn.scalars(sa.select(segments.c.name)
                                 .where(segments.c.live_since.is_not(None))))
        if not names:
            return []
        # Only the due_at index, so the few people due are found without walking every row
        # (a segment or DISTINCT condition leads SQLite's planner to walk them all); a
        # segment no longer live has no due rows left anyway.
        rows = conn.execute(sa.select(segment_due.c.segment, segment_due.c.profile_id)
                            .where(segment_due.c.due_at <= now)).all()
    return sorted({pid for segment, pid in rows if segment in names})


def _evaluate(live: dict[str, LiveSegment], person: Person, now: datetime
              ) -> tuple[dict[str, bool], dict[str, datetime | None]]:
    view = PersonView(traits=person.view.traits, events=person.view.events,
                      metrics=person_metrics(person.view.events, as_of=now, inclusive=True))
    member = {name: evaluate(s.rule, view, as_of=now, inclusive=True)
              for name, s in live.items()}
    due = {name: next_change(s.rule, view, now=now) for name, s in live.items()}
    return member, due


def _send(store: Store, docs: list[dict[str, Any]], now: datetime,
          ingestor: Ingestor | None) -> None:
    if not docs:
        return
    from tailored.ingest import Ingestor

    report = (ingestor or Ingestor(store)).ingest_events(docs, received_at=now)
    if report.rejected:
        first = report.rejected[0]
        raise InvalidInput(f"a segment event was refused: {first.reason}", field=first.field)


def _refresh(store: Store, live: dict[str, LiveSegment], ids: Sequence[str], now: datetime,
             ingestor: Ingestor | None) -> dict[str, int]:
    with store.reading() as conn:
        canonical = resolve_people(conn, ids)
        pids = sorted({c for c in canonical.values() if c is not None})
        people = load_people(conn, pids, store.personal)
    gone = [i for i, c in canonical.items() if c is None or c != i]
    wanted: dict[tuple[str, str], bool] = {}
    due: dict[tuple[str, str], datetime | None] = {}
    for pid, person in people.items():
        member, next_due = _evaluate(live, person, now)
        for name in live:
            wanted[(name, pid)] = member[name]
            due[(name, pid)] = next_due[name]
    with store.transaction() as conn:
        counts = apply_changes(conn, people, wanted, now=now)
        save_due(conn, sorted(live), due, forget=gone)
    with store.reading() as conn:
        docs, unsendable = missing_events(conn, {n: s.since for n, s in live.items()}, people)
    if unsendable:
        log.warning("%d segment event(s) not recorded: their person has no user id or "
                    "anonymous id to record them under", unsendable)
    _send(store, docs, now, ingestor)
    return {**counts, "checked": len(people)}


def refresh_people(store: Store, profile_ids: Iterable[str], *, now: datetime,
                   ingestor: Ingestor | None = None,
                   events_of: Mapping[str, Collection[str | None]] | None = None
                   ) -> dict[str, int]:
    """Evaluate every live segment for these people at ``now`` and record each change
    (membership history and a Segment Entered/Exited event); renew their due times.

    Merged ids count as the person they joined (a stay held under one is closed: the loser
    exits); an erased id leaves everything. ``ingestor`` sends the events (one with a
    publisher, in a server); by default a plain one. ``events_of`` (the track event names,
    None for other calls, that each person's new events carry) leaves out the people none
    of whose new events a live rule watches (:func:`watched_events`); a person it does not
    name (a merge, say) is always evaluated. Returns ``{"entered", "exited", "checked"}``
    (people evaluated).
    """
    now = _aware(now)
    ids = sorted({str(i) for i in profile_ids})
    totals = {"entered": 0, "exited": 0, "checked": 0}
    if not ids:
        return totals
    with store.reading() as conn:
        live = live_segments(conn)
    if not live:
        return totals
    if events_of is not None:
        watched: set[str] = set()
        for s in live.values():
            names = watched_events(s.rule, now=now)
            if names is None:
                break
            watched |= names
        else:
            ids = [i for i in ids if i not in events_of
                   or any(name in watched for name in events_of[i])]
    for i in range(0, len(ids), _CHUNK):
        for key, n in _refresh(store, live, ids[i:i + _CHUNK], now, ingestor).items():
            totals[key] += n
    return totals


def record_members(store: Store, segment: str, members: Iterable[str], *, now: datetime,
                   ingestor: Ingestor | None = None) -> dict[str, Any]:
    """Record a live segment's member set as computed for everyone (``segment compute``):
    the same changes, history and events as :func:`refresh_people` would record, for the
    people whose membership differs. Returns size, entered and left."""
    now = _aware(now)
    with store.reading() as conn:
        live = live_segments(conn)
        if segment not in live:
            raise InvalidInput(f"segment {segment!r} is not live", field="segment")
        wanted_ids = sorted({str(m) for m in members})
        resolved = resolve_people(conn, wanted_ids)
        unknown = [m for m, c in resolved.items() if c is None]
        if unknown:
            raise InvalidInput(f"{len(unknown)} member(s) are not profiles of this store, e.g. "
                               f"{', '.join(map(repr, unknown[:5]))}", field="members")
        wanted = {c for c in resolved.values() if c is not None}
        holders = conn.execute(sa.select(segment_membership.c.profile_id).where(
            segment_membership.c.segment == segment,
            segment_membership.c.left_at.is_(None))).scalars().all()
        held = resolve_people(conn, sorted(set(holders)))
    own = {h for h, c in held.items() if c == h}
    losers = {c for h, c in held.items() if c is not None and c != h}
    changed = sorted((wanted - own) | (own - wanted) | losers)
    counts = {"entered": 0, "exited": 0}
    for i in range(0, len(changed), _CHUNK):
        chunk = changed[i:i + _CHUNK]
        with store.reading() as conn:
            people = load_people(conn, chunk, store.personal)
        with store.transaction() as conn:
            done = apply_changes(conn, people, {(segment, p): p in wanted for p in people},
                                 now=now)
            conn.execute(segments.update().where(segments.c.name == segment)
                         .values(computed_at=now))
        with store.reading() as conn:
            docs, _ = missing_events(conn, {segment: live[segment].since}, people)
        _send(store, docs, now, ingestor)
        counts["entered"] += done["entered"]
        counts["exited"] += done["exited"]
    if not changed:
        with store.transaction() as conn:
            conn.execute(segments.update().where(segments.c.name == segment)
                         .values(computed_at=now))
    return {"segment": segment, "size": len(wanted), "entered": counts["entered"],
            "left": counts["exited"]}
