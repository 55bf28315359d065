"""Rules compiled to one Ibis query over a :class:`~tailored.analytics.source.Source`.

The query reads the events before ``as_of`` once, with one conditional aggregate per event or
platform condition, joins them (and the customer metrics, when a rule uses any) onto the
profiles, and keeps the profiles the rule holds for. It is the same on DuckDB and PostgreSQL.

Every condition is two-valued: a comparison with something unknown (a missing trait, a metric
of a person without activity) is false, so ``not`` of it is true. :mod:`.person` evaluates a
rule for one person in Python with the same meaning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tailored.analytics.features import customer_features, resolve_as_of
from tailored.analytics.source import NUMBER_PATTERN, json_pointer, numeric, trait
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
    leaves,
)

if TYPE_CHECKING:
    from tailored.analytics.source import Source

__all__ = ["NUMBER_PATTERN", "evaluation_query", "members_query", "numeric"]

@ibis.udf.scalar.builtin(name="list_contains")
def _duckdb_list_contains(items: dt.Array[dt.String], item: str) -> bool:  # type: ignore[empty-body]
    """DuckDB's list membership."""


@ibis.udf.scalar.builtin(name="json_extract")
def _duckdb_elements(doc: str, path: str) -> dt.Array[dt.JSON]:
    """DuckDB's JSON extraction with a wildcard path: a list of JSON values."""


@ibis.udf.scalar.builtin(name="json_extract")
def _duckdb_value(doc: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's JSON extraction of one value, as JSON text."""


@ibis.udf.scalar.builtin(name="json_type")
def _duckdb_json_type(doc: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's type of a JSON field (VARCHAR for a string)."""


@ibis.udf.scalar.builtin(name="jsonb_contains")
def _pg_jsonb_contains(doc: dt.JSON, item: dt.JSON) -> bool:  # type: ignore[empty-body]
    """PostgreSQL's ``@>`` on jsonb."""


@ibis.udf.scalar.builtin(name="to_jsonb")
def _pg_to_jsonb(doc: dt.JSON) -> dt.JSON:
    """PostgreSQL's json → jsonb."""


@ibis.udf.scalar.builtin(name="json_extract_path")
def _pg_field(doc: dt.JSON, key: str) -> dt.JSON:
    """PostgreSQL's JSON field extraction (as json)."""


def _includes(source: Source, doc: ir.StringValue, key: str, value: str) -> ir.BooleanValue:
    """The trait is ``value`` or a list holding it."""
    if source.backend == "postgres":
        return _pg_jsonb_contains(_pg_to_jsonb(_pg_field(doc.cast("json"), key)),
                                  _pg_to_jsonb(ibis.literal(json.dumps(value)).cast("json")))
    path = json_pointer(key)
    # Strings only, as jsonb's @> on PostgreSQL: the number 2.5 does not include "2.5".
    elements = _duckdb_elements(_duckdb_value(doc, path), "$[*]").cast("array<string>")
    return _duckdb_list_contains(elements, json.dumps(value, ensure_ascii=False)) | (
        (_duckdb_json_type(doc, path) == "VARCHAR") & (trait(source, doc, key) == value))


def _compare(value: ir.Value, check: Check) -> ir.BooleanValue:
    op, x = check.op, check.value
    if op == ">":
        return value > x
    if op == ">=":
        return value >= x
    if op == "<":
        return value < x
    if op == "<=":
        return value <= x
    if op == "=":
        return value == x
    if op == "!=":
        return value != x
    raise AssertionError(op)  # the parser allows no other operator here


def _trait_check(source: Source, doc: ir.StringValue, key: str, check: Check
                 ) -> ir.BooleanValue:
    text = trait(source, doc, key)
    op, x = check.op, check.value
    if op == "exists":
        return text.notnull() if x else text.isnull()
    if op == "includes":
        return _includes(source, doc, key, x)
    if op in ("in", "not_in"):
        if isinstance(x[0], float):
            test = numeric(text).isin(list(x))
        else:
            test = text.isin([_as_text(v) for v in x])
        return test if op == "in" else ~test
    if isinstance(x, float):
        return _compare(numeric(text), check)
    return _compare(text, Check(op=op, value=_as_text(x)))


def _as_text(value: Any) -> str:
    """How a JSON scalar reads as text (``json_extract_string``): true/false for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Plan:
    """Names a column for each event and platform condition, and builds the predicate."""

    def __init__(self, rules: Iterable[Rule], source: Source, as_of: datetime, inclusive: bool
                 ) -> None:
        self.source, self.as_of = source, as_of
        self.columns: dict[int, str] = {}
        self.aggregates: dict[str, ir.Scalar] = {}
        self.metrics: set[str] = set()
        at = ibis.literal(as_of, type=dt.Timestamp(timezone="UTC"))
        ts = source.events.timestamp
        self.events = source.events.filter(ts <= at if inclusive else ts < at)
        for _, leaf in (pair for rule in rules for pair in leaves(rule)):
            if isinstance(leaf, EventRule | PlatformRule):
                name = f"_c{len(self.columns)}"
                self.columns[id(leaf)] = name
                self.aggregates[name] = self._aggregate(leaf)
            elif isinstance(leaf, MetricRule):
                self.metrics.add(leaf.metric)

    def _in_window(self, within_days: float | None) -> ir.BooleanValue:
        if within_days is None:
            return ibis.literal(True)
        start = ibis.literal(self.as_of - timedelta(days=within_days),
                             type=dt.Timestamp(timezone="UTC"))
        return self.events.timestamp >= start

    def _aggregate(self, leaf: EventRule | PlatformRule) -> ir.Scalar:
        ev = self.events
        if isinstance(leaf, PlatformRule):
            hit = (ev.platform.isin(list(leaf.platforms)) & self._in_window(leaf.within_days)
                   & (ev.event.isnull() | ~ev.event.isin(sorted(SEGMENT_EVENTS))))
            return ibis.cases((hit, 1), else_=0).sum()
        hit = (ev.event == leaf.event) & self._in_window(leaf.within_days)
        for key, value in leaf.where:
            hit = hit & _trait_check(self.source, ev.properties, key,
                                     Check(op="=", value=value)).fill_null(False)
        if leaf.measure == "sum":
            assert leaf.property is not None
            amount = numeric(trait(self.source, ev.properties, leaf.property))
            return ibis.cases((hit, amount), else_=ibis.null("float64")).sum()
        return ibis.cases((hit, 1), else_=0).sum()

    def predicate(self, rule: Rule, table: ir.Table) -> ir.BooleanValue:
        if isinstance(rule, AllRule | AnyRule):
            parts = [self.predicate(r, table) for r in rule.rules]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(rule, AllRule) else (out | p)
            return out
        if isinstance(rule, NotRule):
            return ~self.predicate(rule.rule, table)
        if isinstance(rule, EventRule | PlatformRule):
            amount = table[self.columns[id(rule)]].fill_null(0)
            checks = rule.checks if isinstance(rule, EventRule) else (Check(op=">=", value=1),)
            return self._all(_compare(amount, c) for c in checks)
        if isinstance(rule, MetricRule):
            value = table[rule.metric].cast("float64")
            if rule.metric in COUNT_METRICS:
                value = value.fill_null(0)
            return self._all(_compare(value, c) for c in rule.checks)
        assert isinstance(rule, TraitRule)
        return self._all(_trait_check(self.source, table.traits, rule.trait, c)
                         for c in rule.checks)

    @staticmethod
    def _all(parts: Any) -> ir.BooleanValue:
        out = None
        for p in parts:
            # Unknown is false, leaf by leaf, so ``not`` means what it says.
            p = p.fill_null(False)
            out = p if out is None else out & p
        assert out is not None
        return out


def evaluation_query(rules: Mapping[str, Rule], source: Source, *,
                     as_of: datetime | None = None, metrics: ir.Table | None = None,
                     people: ir.Table | None = None) -> ir.Table:
    """Every profile with one boolean column per named rule — whether it holds as of
    ``as_of`` — in one query (one pass over the events for all the rules together).

    ``as_of`` means what it means for :func:`~tailored.analytics.features.customer_features`:
    by default the latest event's time, every event counting; given, only events strictly
    before it. ``metrics`` is a table of customer metrics by ``profile_id``; by default
    ``customer_features`` at the same moment (computed only when a rule uses a metric).
    ``people`` (a table with a ``profile_id`` column) limits the profiles evaluated.
    """
    when, inclusive = resolve_as_of(source, as_of)
    plan = _Plan(rules.values(), source, when, inclusive)
    table = source.profiles.select("profile_id", "traits")
    if people is not None:
        table = table.semi_join(people, "profile_id")
    if plan.aggregates:
        per = plan.events.group_by("profile_id").aggregate(**plan.aggregates)
        table = table.left_join(per, "profile_id").select(table, *plan.aggregates)
    if plan.metrics:
        if metrics is None:
            metrics = customer_features(source, as_of=as_of)
        wanted = metrics.select("profile_id", *sorted(plan.metrics))
        table = table.left_join(wanted, "profile_id").select(table, *sorted(plan.metrics))
    return table.select("profile_id", **{name: plan.predicate(rule, table)
                                         for name, rule in rules.items()})


def members_query(rule: Rule, source: Source, *, as_of: datetime | None = None,
                  metrics: ir.Table | None = None) -> ir.Table:
    """The profiles ``rule`` holds for, as of ``as_of``, as one query: a table with one
    column, ``profile_id`` (``as_of`` and ``metrics`` as for :func:`evaluation_query`)."""
    table = evaluation_query({"_member": rule}, source, as_of=as_of, metrics=metrics)
    return table.filter(table["_member"]).select("profile_id")
