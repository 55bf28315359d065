"""Many people read at once for live segments: traits, events and the id to record under.

The bulk form of :func:`tailored.segments.person_data.load_person` (one query per few hundred
people, not three per person), so the worker's due checks and a segment going live cost a
pass over the people concerned, not a round trip each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tailored.segments.person import PersonEvent, PersonView
from tailored.store.personal import PersonalData
from tailored.store.tables import events, identities, profiles

__all__ = ["Person", "load_people", "resolve_people"]

_BATCH = 900  # under SQLite's limit of parameters in one statement


@dataclass
class Person:
    """A canonical profile as live segments need it."""

    profile_id: str
    view: PersonView
    #: Every profile id that is this person: its own, then those merged into it.
    ids: list[str]
    #: The id an event is sent under so that it lands on this person: ("userId", value) or
    #: ("anonymousId", value); None if the person has neither any more.
    sender: tuple[str, str] | None
    #: messageIds of the person's events (to tell which Segment events are already there).
    message_ids: set[str]


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i:i + _BATCH] for i in range(0, len(ids), _BATCH)]


def resolve_people(conn: sa.Connection, ids: Sequence[str]) -> dict[str, str | None]:
    """Each profile id → the canonical profile it is now (None: erased or never existed)."""
    out: dict[str, str | None] = dict.fromkeys(ids)
    for chunk in _chunks(ids):
        rows = conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                            .where(profiles.c.profile_id.in_(chunk)))
        out.update((pid, into or pid) for pid, into in rows)
    return out


def load_people(conn: sa.Connection, pids: Sequence[str], personal: PersonalData
                ) -> dict[str, Person]:
    """The canonical profiles ``pids`` with everything a live rule reads (metrics are left
    to the caller: they depend on the moment)."""
    traits: dict[str, Any] = {}
    history: dict[str, list[PersonEvent]] = {pid: [] for pid in pids}
    mids: dict[str, set[str]] = {pid: set() for pid in pids}
    ids: dict[str, list[str]] = {pid: [pid] for pid in pids}
    senders: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(pids):
        for pid, doc in conn.execute(sa.select(profiles.c.profile_id, profiles.c.traits)
                                     .where(profiles.c.profile_id.in_(chunk))):
            traits[pid] = personal.reveal_traits(doc or {})
        for pid, into in conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                                      .where(profiles.c.merged_into.in_(chunk))):
            ids[into].append(pid)
        for r in conn.execute(
                sa.select(events.c.profile_id, events.c.event, events.c.type,
                          events.c.timestamp, events.c.platform, events.c.properties,
                          events.c.message_id)
                .where(events.c.profile_id.in_(chunk))
                .order_by(events.c.profile_id, events.c.timestamp, events.c.id)):
            history[r.profile_id].append(PersonEvent(
                timestamp=r.timestamp, event=r.event if r.type == "track" else None,
                platform=r.platform, properties=r.properties or {}, message_id=r.message_id))
            mids[r.profile_id].add(r.message_id)
        for pid, kind, value in conn.execute(
                sa.select(identities.c.profile_id, identities.c.kind, identities.c.value)
                .where(identities.c.profile_id.in_(chunk),
                       identities.c.kind.in_(("user_id", "anonymous_id")))
                .order_by(identities.c.profile_id, identities.c.kind.desc(),
                          identities.c.value)):
            # user_id sorts after anonymous_id: descending puts it first.
            if pid not in senders:
                senders[pid] = ("userId" if kind == "user_id" else "anonymousId",
                                personal.reveal_identity(kind, value))
    return {pid: Person(profile_id=pid, view=PersonView(traits=traits.get(pid, {}),
                                                        events=history[pid]),
                        ids=[pid, *sorted(ids[pid][1:])],
                        sender=senders.get(pid), message_ids=mids[pid])
            for pid in pids if pid in traits}
