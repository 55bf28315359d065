"""Who of an audience may be sent a campaign now, and if not, the first reason why.

The reasons, checked in this order, a person counted under the first that holds:
``no_address``, ``unsubscribed``, ``bounced``, ``no_consent``, ``already_sent``,
``frequency_cap``, ``quiet_hours``, and then ``holdout`` — drawn only among those who pass
every other check, so the holdout is comparable with the people sent to.

Everything is read for a batch of people at once, over every profile id each person had
(a merge never loses an unsubscribe, a consent or a message already sent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tailored.campaigns.outbox import DONE, person_ids, rows_of
from tailored.campaigns.respect import parse_caps, parse_quiet_hours, zone
from tailored.store.tables import (
    consents,
    events,
    identities,
    outbox,
    profiles,
    push_subscriptions,
    suppressions,
)

if TYPE_CHECKING:
    from tailored.campaigns.definitions import CampaignSpec
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["REASONS", "Verdict", "judge"]

REASONS = ("no_address", "unsubscribed", "bounced", "no_consent", "already_sent",
           "frequency_cap", "quiet_hours", "holdout")


@dataclass(frozen=True)
class Verdict:
    """For one person: ``reason`` None means send (``address``); ``existing`` is their
    outbox row for this step if there is one; ``hold_until`` is set for quiet hours."""

    profile_id: str
    reason: str | None
    address: str | None = None
    existing: Any = None
    hold_until: datetime | None = None


def _addresses(conn: sa.Connection, store: Store, spec: CampaignSpec,
               known: dict[str, str]) -> dict[str, str]:
    people = sorted(set(known.values()))
    out: dict[str, str] = {}
    if spec.channel == "email":
        for i in range(0, len(people), 900):
            for pid, traits in conn.execute(
                    sa.select(profiles.c.profile_id, profiles.c.traits)
                    .where(profiles.c.profile_id.in_(people[i:i + 900]))):
                email = store.personal.reveal_traits(traits or {}).get("email")
                if isinstance(email, str) and "@" in email.strip():
                    out[pid] = email.strip()
    elif spec.channel == "push":
        ids = list(known)
        for i in range(0, len(ids), 900):
            for (pid,) in conn.execute(
                    sa.select(push_subscriptions.c.profile_id)
                    .where(push_subscriptions.c.profile_id.in_(ids[i:i + 900]))):
                out[known[pid]] = known[pid]
    elif spec.channel == "webhook":
        # The customer's service knows people by their user id (else anonymous id).
        ids = list(known)
        for i in range(0, len(ids), 900):
            for pid, kind, value in conn.execute(
                    sa.select(identities.c.profile_id, identities.c.kind, identities.c.value)
                    .where(identities.c.profile_id.in_(ids[i:i + 900]),
                           identities.c.kind.in_(("user_id", "anonymous_id")))
                    .order_by(identities.c.kind.desc(), identities.c.value)):
                out.setdefault(known[pid], store.personal.reveal_identity(kind, value))
    else:  # in-app: the inbox is the person's own
        out = {p: p for p in people}
    return out


def _suppressed(conn: sa.Connection, channel: str, known: dict[str, str]
                ) -> dict[str, str]:
    out: dict[str, str] = {}
    ids = list(known)
    for i in range(0, len(ids), 900):
        for pid, reason in conn.execute(
                sa.select(suppressions.c.profile_id, suppressions.c.reason)
                .where(suppressions.c.profile_id.in_(ids[i:i + 900]),
                       suppressions.c.channel.in_((channel, "all")))):
            person = known[pid]
            # An unsubscribe outranks a bounce: it is the person's own choice.
            if out.get(person) != "unsubscribed":
                out[person] = "unsubscribed" if reason == "unsubscribed" else "bounced"
    return out


def _consented(conn: sa.Connection, category: str, known: dict[str, str], default: str
               ) -> set[str]:
    latest: dict[str, tuple[datetime, bool]] = {}
    ids = list(known)
    for i in range(0, len(ids), 900):
        for pid, granted, given_at in conn.execute(
                sa.select(consents.c.profile_id, consents.c.granted, consents.c.given_at)
                .where(consents.c.profile_id.in_(ids[i:i + 900]),
                       consents.c.channel == category)):
            person = known[pid]
            if person not in latest or given_at > latest[person][0]:
                latest[person] = (given_at, bool(granted))
    people = set(known.values())
    return {p for p in people
            if (latest[p][1] if p in latest else default == "opt-out")}


def _sent_counts(conn: sa.Connection, known: dict[str, str], since: datetime
                 ) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    ids = list(known)
    for i in range(0, len(ids), 900):
        for pid, channel in conn.execute(
                sa.select(outbox.c.profile_id, outbox.c.channel)
                .where(outbox.c.profile_id.in_(ids[i:i + 900]), outbox.c.status == "sent",
                       outbox.c.transactional.is_(False), outbox.c.sent_at >= since)):
            counts[known[pid]][channel] += 1
            counts[known[pid]]["all"] += 1
    return counts


def _capped(conn: sa.Connection, settings: Settings, channel: str, known: dict[str, str],
            now: datetime) -> set[str]:
    caps = [c for c in parse_caps(settings.frequency_caps) if c.channel in (channel, "all")]
    if not caps:
        return set()
    capped: set[str] = set()
    for cap in caps:
        counts = _sent_counts(conn, known, now - cap.window)
        capped |= {p for p, c in counts.items() if c[cap.channel] >= cap.limit}
    return capped


def time_zones(conn: sa.Connection, known: dict[str, str]) -> dict[str, str]:
    """Each person's latest ``context.timezone``, from their events."""
    tz_col = events.c.context["timezone"].as_string()
    latest: dict[str, tuple[datetime, str]] = {}
    ids = list(known)
    for i in range(0, len(ids), 900):
        for pid, tz, at in conn.execute(
                sa.select(events.c.profile_id, tz_col, sa.func.max(events.c.timestamp))
                .where(events.c.profile_id.in_(ids[i:i + 900]), tz_col.is_not(None))
                .group_by(events.c.profile_id, tz_col)):
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            person = known[pid]
            if person not in latest or at > latest[person][0]:
                latest[person] = (at, tz)
    return {p: tz for p, (_, tz) in latest.items()}


def judge(store: Store, settings: Settings, spec: CampaignSpec, people: Sequence[str], *,
          step: int = 0, now: datetime, respect_quiet_hours: bool = True) -> list[Verdict]:
    """A verdict for each of ``people`` (current profile ids), in their order."""
    from tailored.campaigns.experiments import assign

    quiet = None if spec.transactional or not respect_quiet_hours \
        else parse_quiet_hours(settings.quiet_hours)
    category = spec.consent_category()
    with store.reading() as conn:
        known = person_ids(conn, list(people))
        addresses = _addresses(conn, store, spec, known)
        suppressed = _suppressed(conn, spec.channel, known)
        consented = (_consented(conn, category, known, settings.consent_default)
                     if category else set(people))
        existing = rows_of(conn, spec.name, step, known)
        capped = set() if spec.transactional else _capped(conn, settings, spec.channel,
                                                          known, now)
        zones = time_zones(conn, known) if quiet else {}
    default_zone = ZoneInfo(settings.quiet_hours_timezone)
    variants = [(v.name, v.weight) for v in spec.variants]
    out = []
    for pid in people:
        row = existing.get(pid)
        if pid not in addresses:
            out.append(Verdict(pid, "no_address"))
        elif pid in suppressed:
            out.append(Verdict(pid, suppressed[pid]))
        elif pid not in consented:
            out.append(Verdict(pid, "no_consent"))
        elif row is not None and row.status in DONE:
            out.append(Verdict(pid, "already_sent", existing=row))
        elif row is not None and row.status == "holdout":
            out.append(Verdict(pid, "holdout", existing=row))
        elif row is not None and row.status == "held" and row.due_at > now:
            out.append(Verdict(pid, "quiet_hours", addresses[pid], existing=row,
                               hold_until=row.due_at))
        elif row is not None:  # queued by an earlier run that did not finish: it goes now
            out.append(Verdict(pid, None, addresses[pid], existing=row))
        elif pid in capped:
            out.append(Verdict(pid, "frequency_cap"))
        elif quiet is not None and (until := quiet.release(
                now, zone(zones.get(pid), default_zone))) is not None:
            out.append(Verdict(pid, "quiet_hours", addresses[pid], hold_until=until))
        elif assign(spec.name, pid, variants, spec.holdout) == "holdout":
            out.append(Verdict(pid, "holdout"))
        else:
            out.append(Verdict(pid, None, addresses[pid]))
    return out
