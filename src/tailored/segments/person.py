"""A rule evaluated for one person in process: the real-time path.

Pure Python over the person's traits, events and metrics, with exactly the meaning of the
compiled query (:mod:`.compile`): windows end just before ``as_of``, counts and sums of nothing
are 0, and any comparison with something unknown is false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from tailored.events.names import SEGMENT_EVENTS
from tailored.segments.conditions import (
    COUNT_METRICS,
    AllRule,
    AnyRule,
    Check,
    EventRule,
    MetricRule,
    NotRule,
    PlatformRule,
    Rule,
    TraitRule,
)

__all__ = ["PersonEvent", "PersonView", "evaluate", "event_matches"]

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


@dataclass(frozen=True)
class PersonEvent:
    """One event of a person: track events have a name, every event a platform."""

    timestamp: datetime
    event: str | None = None
    platform: str = "unknown"
    properties: Mapping[str, Any] = field(default_factory=dict)
    # Groups the lines of one order (the snapshot's message_id).
    message_id: str = ""


@dataclass(frozen=True)
class PersonView:
    """What a rule reads about one person."""

    traits: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[PersonEvent] = ()
    metrics: Mapping[str, float | None] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    """A JSON field as text, as the engines extract it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return None


def _compare(value: Any, check: Check) -> bool:
    if value is None:
        return False
    op, x = check.op, check.value
    if op == ">":
        return bool(value > x)
    if op == ">=":
        return bool(value >= x)
    if op == "<":
        return bool(value < x)
    if op == "<=":
        return bool(value <= x)
    if op == "=":
        return bool(value == x)
    if op == "!=":
        return bool(value != x)
    raise AssertionError(op)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _trait_check(traits: Mapping[str, Any], key: str, check: Check) -> bool:
    raw = traits.get(key)
    op, x = check.op, check.value
    if op == "exists":
        return (raw is not None) == x
    if raw is None:
        return False
    if op == "includes":
        return raw == x or (isinstance(raw, list) and x in [v for v in raw if isinstance(v, str)])
    if op in ("in", "not_in"):
        if isinstance(x[0], float):
            number = _number(raw)
            if number is None:
                return False
            found = number in x
        else:
            found = _text(raw) in [_as_text(v) for v in x]
        return found if op == "in" else not found
    if isinstance(x, float):
        return _compare(_number(raw), check)
    return _compare(_text(raw), Check(op=op, value=_as_text(x)))


def _in_window(e: PersonEvent, as_of: datetime, inclusive: bool, within_days: float | None
               ) -> bool:
    if e.timestamp > as_of or (e.timestamp == as_of and not inclusive):
        return False
    return within_days is None or e.timestamp >= as_of - timedelta(days=within_days)


def event_matches(rule: EventRule, e: PersonEvent) -> bool:
    """Whether ``e`` is one of the events ``rule`` counts (its name and ``where``), at any
    time."""
    return e.event == rule.event and all(
        _trait_check(e.properties, key, Check(op="=", value=value)) for key, value in rule.where)


def evaluate(rule: Rule, person: PersonView, *, as_of: datetime, inclusive: bool = False
             ) -> bool:
    """Whether ``rule`` holds for ``person`` at ``as_of`` (an aware datetime): events before
    it count (and those at it, with ``inclusive``), as in the compiled query."""
    if isinstance(rule, AllRule | AnyRule | NotRule):
        parts = (evaluate(r, person, as_of=as_of, inclusive=inclusive) for r in (
            rule.rules if isinstance(rule, AllRule | AnyRule) else (rule.rule,)))
        if isinstance(rule, AllRule):
            return all(parts)
        return any(parts) if isinstance(rule, AnyRule) else not next(parts)
    if isinstance(rule, PlatformRule):
        return any(e.platform in rule.platforms and e.event not in SEGMENT_EVENTS
                   and _in_window(e, as_of, inclusive, rule.within_days)
                   for e in person.events)
    if isinstance(rule, EventRule):
        hits = [e for e in person.events if event_matches(rule, e)
                and _in_window(e, as_of, inclusive, rule.within_days)]
        amount: float
        if rule.measure == "sum":
            amount = sum(n for e in hits
                         if (n := _number(e.properties.get(rule.property or ""))) is not None)
        else:
            amount = len(hits)
        return all(_compare(amount, c) for c in rule.checks)
    if isinstance(rule, MetricRule):
        value = person.metrics.get(rule.metric)
        if value is None and rule.metric in COUNT_METRICS:
            value = 0.0
        value = None if value is None else float(value)
        return all(_compare(value, c) for c in rule.checks)
    assert isinstance(rule, TraitRule)
    return all(_trait_check(person.traits, rule.trait, c) for c in rule.checks)
