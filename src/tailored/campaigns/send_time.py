"""Send-time optimisation: each person's message goes at the hour they are usually active,
in their own time zone, as Braze's Intelligent Timing does.

The hour is learned from their last 90 days: each open of a message a person (not a
machine) made counts three times, every other event once; the hour with the most wins
(ties: the earliest). Someone with no history gets the hour most of the audience shares,
else the message goes at once. The message is held until that hour comes next — within
24 hours, never later.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tailored.campaigns.respect import zone
from tailored.store.tables import events

__all__ = ["LOOKBACK_DAYS", "best_hours", "next_at_hour"]

LOOKBACK_DAYS = 90
_OPEN_WEIGHT = 3


def best_hours(conn: sa.Connection, known: dict[str, str], zones: dict[str, str],
               default_zone: ZoneInfo, now: datetime) -> dict[str, int]:
    """The best local hour of each person who has history (``known``: any profile id →
    the person's current one; ``zones``: person → IANA zone)."""
    hours: dict[str, Counter[int]] = defaultdict(Counter)
    ids = list(known)
    since = now - timedelta(days=LOOKBACK_DAYS)
    machine = events.c.properties["machine"].as_boolean()
    for i in range(0, len(ids), 900):
        for pid, at, name, is_machine in conn.execute(
                sa.select(events.c.profile_id, events.c.timestamp, events.c.event, machine)
                .where(events.c.profile_id.in_(ids[i:i + 900]), events.c.timestamp >= since)):
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            person = known[pid]
            if name == "Email Opened" and is_machine:
                continue
            local = at.astimezone(zone(zones.get(person), default_zone))
            hours[person][local.hour] += _OPEN_WEIGHT if name == "Email Opened" else 1
    return {p: min(c, key=lambda h: (-c[h], h)) for p, c in hours.items() if c}


def next_at_hour(now: datetime, hour: int, tz: ZoneInfo) -> datetime:
    """The next time the local clock in ``tz`` shows ``hour`` (now, if it does)."""
    local = now.astimezone(tz)
    if local.hour == hour:
        return now
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(now.tzinfo)
