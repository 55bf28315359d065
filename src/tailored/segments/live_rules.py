"""What keeping a rule live needs: whether it can be, and when a person's membership could
next change by time alone.

Membership changes without a new event only when time moves a boundary past ``now``: an
event leaving a rule's window (``within_days`` after it), a time metric (recency, tenure,
order recency) crossing a threshold, or an event stamped in the future coming due. The
earliest such moment after ``now`` is the person's *due time*; nothing can change before it,
so the worker need not look at them until then (docs/segments.md, "Live segments").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from tailored.errors import InvalidInput
from tailored.events.names import SEGMENT_EVENTS
from tailored.events.orders import ORDER_EVENTS
from tailored.segments.conditions import EventRule, MetricRule, PlatformRule, Rule, leaves
from tailored.segments.person import PersonEvent, PersonView, event_matches

__all__ = ["SLACK", "TIME_METRICS", "check_live", "next_change"]

# Metrics that grow with the clock, by the event time they count from.
TIME_METRICS = ("recency_days", "tenure_days", "order_recency_days")
# A due time sits this far past the boundary it is for: a window includes its first instant
# and float day arithmetic rounds, so a check exactly on the boundary could see no change.
SLACK = timedelta(milliseconds=1)


def _where(path: str) -> str:
    return path or "(the rule)"


def check_live(rule: Rule, segment: str) -> None:
    """Refuse (one line, naming the condition) a rule the one-person evaluator cannot keep
    live."""
    for path, leaf in leaves(rule):
        if isinstance(leaf, EventRule) and leaf.event in SEGMENT_EVENTS:
            raise InvalidInput(
                f"segment {segment!r} cannot be live: rule at {_where(path)}.event reads "
                f"{leaf.event!r}, which live segments record themselves (its own changes "
                "would feed back into it); keep such a rule a batch segment",
                field=f"{path}.event" if path else "event")
        if isinstance(leaf, MetricRule) and leaf.metric in TIME_METRICS:
            for check in leaf.checks:
                if check.op in ("=", "!="):
                    raise InvalidInput(
                        f"segment {segment!r} cannot be live: rule at {_where(path)}: "
                        f"{leaf.metric} {check.op} {check.value:g} changes at an instant of "
                        "time no check can land on; compare with <, <=, > or >=",
                        field=f"{path}.metric" if path else "metric")


def _activity(events: Iterable[PersonEvent], now: datetime) -> list[PersonEvent]:
    return [e for e in events if e.timestamp <= now and e.event not in SEGMENT_EVENTS]


def next_change(rule: Rule, person: PersonView, *, now: datetime) -> datetime | None:
    """The earliest moment after ``now`` at which ``rule`` could hold differently for
    ``person`` without a new event (None: never, by time alone)."""
    candidates: list[datetime] = [e.timestamp for e in person.events if e.timestamp > now]
    past = _activity(person.events, now)
    for _, leaf in leaves(rule):
        if isinstance(leaf, EventRule | PlatformRule) and leaf.within_days is not None:
            width = timedelta(days=leaf.within_days) + SLACK
            for e in past:
                hit = (event_matches(leaf, e) if isinstance(leaf, EventRule)
                       else e.platform in leaf.platforms)
                if hit and e.timestamp + width > now:
                    candidates.append(e.timestamp + width)
        elif isinstance(leaf, MetricRule) and leaf.metric in TIME_METRICS and past:
            if leaf.metric == "tenure_days":
                anchor: datetime | None = min(e.timestamp for e in past)
            elif leaf.metric == "recency_days":
                anchor = max(e.timestamp for e in past)
            else:
                anchor = max((e.timestamp for e in past if e.event in ORDER_EVENTS),
                             default=None)
            if anchor is None:
                continue
            for check in leaf.checks:
                days = float(check.value)
                if days < 0:
                    continue
                try:
                    boundary = anchor + timedelta(days=days) + SLACK
                except OverflowError:  # past the year 9999: never, in practice
                    continue
                if boundary > now:
                    candidates.append(boundary)
    return min(candidates, default=None)
