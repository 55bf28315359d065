"""The typed form of a segment rule: conditions, their combinations, and the names they use.

:mod:`.rules` parses documents into these; :mod:`.compile` turns them into a query and
:mod:`.person` evaluates them for one person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "COUNT_METRICS",
    "MAX_WINDOW_DAYS",
    "METRICS",
    "NUMERIC_OPERATORS",
    "TRAIT_OPERATORS",
    "AllRule",
    "AnyRule",
    "Check",
    "EventRule",
    "MetricRule",
    "NotRule",
    "PlatformRule",
    "Rule",
    "TraitRule",
    "event_names",
    "leaves",
]

# The longest window a rule may name: a century reaches back past the earliest event Tailored
# stores (1970) from any date it will see, and stays far inside what dates can represent.
MAX_WINDOW_DAYS = 36_525
NUMERIC_OPERATORS = (">", ">=", "<", "<=", "=", "!=")
TRAIT_OPERATORS = (*NUMERIC_OPERATORS, "in", "not_in", "includes", "exists")
# The numeric columns of tailored.analytics.features.customer_features. Counts and sums are
# 0 for a person without any activity; the others are unknown (so every comparison is false).
COUNT_METRICS = ("orders", "purchase_days", "revenue", "events", "views", "carts",
                 "distinct_items", "active_days")
METRICS = (*COUNT_METRICS, "recency_days", "tenure_days", "avg_order_value",
           "order_recency_days")


def _frozen() -> ConfigDict:
    return ConfigDict(frozen=True, extra="forbid")


class Check(BaseModel):
    """One comparison: ``op`` and the value compared against."""

    model_config = _frozen()
    op: str
    value: Any


class EventRule(BaseModel):
    """How often a person did ``event`` (or the sum of a property of it) in a window."""

    model_config = _frozen()
    event: str = Field(min_length=1)
    within_days: float | None = Field(default=None, gt=0, le=MAX_WINDOW_DAYS)
    measure: Literal["count", "sum"] = "count"
    property: str | None = None
    checks: tuple[Check, ...] = (Check(op=">=", value=1),)
    # Only events whose properties equal these (compared by type, as traits are).
    where: tuple[tuple[str, Any], ...] = ()


class MetricRule(BaseModel):
    model_config = _frozen()
    metric: str
    checks: tuple[Check, ...] = Field(min_length=1)


class TraitRule(BaseModel):
    model_config = _frozen()
    trait: str = Field(min_length=1)
    checks: tuple[Check, ...] = Field(min_length=1)


class PlatformRule(BaseModel):
    """The person has an event on one of ``platforms`` (within the window, if given)."""

    model_config = _frozen()
    platforms: tuple[str, ...] = Field(min_length=1)
    within_days: float | None = Field(default=None, gt=0, le=MAX_WINDOW_DAYS)


class AllRule(BaseModel):
    model_config = _frozen()
    rules: tuple[Rule, ...]


class AnyRule(BaseModel):
    model_config = _frozen()
    rules: tuple[Rule, ...]


class NotRule(BaseModel):
    model_config = _frozen()
    rule: Rule


Rule = AllRule | AnyRule | NotRule | EventRule | MetricRule | TraitRule | PlatformRule


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def leaves(rule: Rule, path: str = "") -> Iterable[tuple[str, Rule]]:
    """Every condition of a rule (not all/any/not), with its path."""
    if isinstance(rule, AllRule | AnyRule):
        key = "all" if isinstance(rule, AllRule) else "any"
        for i, r in enumerate(rule.rules):
            yield from leaves(r, f"{_where(path, key)}[{i}]")
    elif isinstance(rule, NotRule):
        yield from leaves(rule.rule, _where(path, "not"))
    else:
        yield path, rule


def event_names(rule: Rule) -> set[str]:
    return {leaf.event for _, leaf in leaves(rule) if isinstance(leaf, EventRule)}
