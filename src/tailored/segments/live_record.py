"""Recording live segment changes: membership history first, then the person's events.

The membership history is the record; each stay that began (or ended) while its segment
was live has a **Segment Entered** (and **Segment Exited**) track event in the person's
history, with a messageId derived from the stay (segment, profile, stay id), so sending it
again is a duplicate, never a second event. The events are sent after the membership
commits, and every later refresh of the person sends any that are missing (a crash between
the two loses nothing and doubles nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tailored.events.names import SEGMENT_ENTERED, SEGMENT_EXITED
from tailored.ingest.sources.records import stable_message_id
from tailored.segments.live_people import Person
from tailored.store.tables import segment_due, segment_membership

__all__ = ["apply_changes", "missing_events", "save_due", "segment_event_id"]

_BATCH = 900
_LIBRARY = {"library": {"name": "tailored-live-segments"}}


def _chunks(ids: Sequence[Any]) -> list[Sequence[Any]]:
    return [ids[i:i + _BATCH] for i in range(0, len(ids), _BATCH)]


def segment_event_id(event: str, segment: str, profile_id: str, stay_id: int) -> str:
    """The messageId of a stay's Segment Entered or Exited event."""
    return stable_message_id("tailored-segment", event, segment, profile_id, stay_id)


def _stays(conn: sa.Connection, segments: Sequence[str], ids: Sequence[str], *,
           open_only: bool) -> list[Any]:
    m = segment_membership.c
    wanted = set(segments)
    rows: list[Any] = []
    for chunk in _chunks(list(ids)):
        # By profile only (its index): a segment condition leads SQLite's planner to the
        # segment's index, a walk over all its members. A person has few stays.
        rows += [r for r in conn.execute(
            sa.select(m.id, m.segment, m.profile_id, m.entered_at, m.left_at)
            .where(m.profile_id.in_(chunk)))
            if r.segment in wanted and (r.left_at is None or not open_only)]
    return rows


def apply_changes(conn: sa.Connection, people: Mapping[str, Person],
                  wanted: Mapping[tuple[str, str], bool], *, now: datetime) -> dict[str, int]:
    """Make each (segment, person) membership in ``wanted`` true or false at ``now``.

    A stay held under an id since merged into the person is closed (the loser leaves); the
    person's own stay opens or closes as ``wanted`` says. Returns entered and exited counts.
    """
    segments = sorted({s for s, _ in wanted})
    owner = {i: p.profile_id for p in people.values() for i in p.ids}
    grouped: dict[tuple[str, str], list[Any]] = {}
    for r in _stays(conn, segments, list(owner), open_only=True):
        grouped.setdefault((r.segment, owner[r.profile_id]), []).append(r)
    closing: list[int] = []
    opening: list[dict[str, Any]] = []
    entered = exited = 0
    for (segment, pid), member in wanted.items():
        rows = grouped.get((segment, pid), [])
        own = [r.id for r in rows if r.profile_id == pid]
        losers = [r.id for r in rows if r.profile_id != pid]
        closing += losers
        exited += len(losers)
        if member and not own:
            opening.append({"segment": segment, "profile_id": pid, "entered_at": now,
                            "left_at": None})
            entered += 1
        elif own and not member:
            closing += own
            exited += 1
    for chunk in _chunks(closing):
        conn.execute(segment_membership.update().where(segment_membership.c.id.in_(chunk))
                     .values(left_at=now))
    if opening:
        conn.execute(segment_membership.insert(), opening)
    return {"entered": entered, "exited": exited}


def save_due(conn: sa.Connection, segments: Sequence[str], due: Mapping[tuple[str, str],
             datetime | None], *, forget: Sequence[str] = ()) -> None:
    """Replace the due times of the (segment, person) pairs evaluated; ``forget`` drops
    every due time of those profile ids (merged away or erased)."""
    people = sorted({pid for _, pid in due} | set(forget))
    for chunk in _chunks(people):
        conn.execute(segment_due.delete().where(segment_due.c.profile_id.in_(chunk),
                                                segment_due.c.segment.in_(list(segments))))
    rows = [{"segment": s, "profile_id": pid, "due_at": at}
            for (s, pid), at in due.items() if at is not None]
    if rows:
        conn.execute(segment_due.insert(), rows)


def _doc(person: Person, event: str, segment: str, stay: Any, when: datetime
         ) -> dict[str, Any]:
    assert person.sender is not None
    props: dict[str, Any] = {"segment": segment}
    if stay.profile_id != person.profile_id:
        props["merged_from"] = stay.profile_id  # an id since merged into this person
    key, value = person.sender
    return {"type": "track", "event": event, key: value, "timestamp": when.isoformat(),
            "messageId": segment_event_id(event, segment, stay.profile_id, stay.id),
            "properties": props, "context": _LIBRARY}


def missing_events(conn: sa.Connection, since: Mapping[str, datetime],
                   people: Mapping[str, Person]) -> tuple[list[dict[str, Any]], int]:
    """The Segment Entered/Exited events the people's stays in live segments should have
    and do not (stays that began or ended while the segment was live), and how many could
    not be sent (a person with no user id or anonymous id left to send them under)."""
    owner = {i: p.profile_id for p in people.values() for i in p.ids}
    docs: list[dict[str, Any]] = []
    unsendable = 0
    for stay in _stays(conn, sorted(since), list(owner), open_only=False):
        person = people[owner[stay.profile_id]]
        start = since[stay.segment]
        for event, when in ((SEGMENT_ENTERED, stay.entered_at), (SEGMENT_EXITED, stay.left_at)):
            if when is None or when < start:
                continue
            if segment_event_id(event, stay.segment, stay.profile_id, stay.id) in \
                    person.message_ids:
                continue
            if person.sender is None:
                unsendable += 1
                continue
            docs.append(_doc(person, event, stay.segment, stay, when))
    docs.sort(key=lambda d: (d["timestamp"], d["event"] != SEGMENT_EXITED))
    return docs, unsendable
