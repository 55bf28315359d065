"""The rule language of segments: parsing a JSON or YAML document into typed rules.

A rule is one of (docs/segments.md has the full reference)::

    {"all": [rule, ...]}        every rule holds          {"any": [rule, ...]}   one holds
    {"not": rule}               the rule does not hold
    {"event": NAME, "count": {">=": 3}, "within_days": 90}
    {"event": NAME, "sum": {"property": "revenue", ">": 100}, "within_days": 365}
    {"event": NAME, "where": {"category": "shoes"}}      only events with these properties
    {"metric": "avg_order_value", ">": 50}               a column of customer_features
    {"trait": "plan", "in": ["pro", "team"]}             a profile trait, compared by type
    {"platform": "ios", "within_days": 30}               used that platform (or any of a list)

Errors name the unknown field, operator, metric or event, say where in the rule it is (a path
such as ``all[1].metric``) and suggest close matches.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tailored.errors import InvalidInput
from tailored.segments.conditions import (
    MAX_WINDOW_DAYS,
    METRICS,
    NUMERIC_OPERATORS,
    TRAIT_OPERATORS,
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

__all__ = ["check_events", "load_rule_document", "parse_rule", "trait_warnings"]

_ALIASES = {"==": "=", "<>": "!=", "not in": "not_in", "nin": "not_in"}
_KINDS = ("all", "any", "not", "event", "metric", "trait", "platform")


class _Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    within_days: float | None = Field(default=None, gt=0, le=MAX_WINDOW_DAYS,
                                      allow_inf_nan=False)

    @field_validator("within_days", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        if isinstance(v, bool) or (v is not None and not isinstance(v, int | float)):
            raise ValueError(f"must be a number of days, got {v!r}")
        return v


def _where(path: str, key: str | None = None) -> str:
    if key is None:
        return path or "(the rule)"
    return f"{path}.{key}" if path else key


def _fail(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"rule error at {path or '(the rule)'}: {message}", field=path or "rule")


def _suggest(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    if word[::-1] in choices:  # "=>" for ">=": the likeliest slip first
        close = [word[::-1], *(c for c in close if c != word[::-1])][:3]
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _operator(key: str, allowed: tuple[str, ...], path: str) -> str:
    op = _ALIASES.get(key, key)
    if op not in allowed:
        raise _fail(_where(path, key), f"unknown operator {key!r}{_suggest(key, allowed)} "
                    f"(operators here: {', '.join(allowed)})")
    return op


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"must be a number, got {value!r}")
    return float(value)


def _numeric_checks(doc: Mapping[str, Any], path: str, skip: tuple[str, ...]) -> tuple[Check, ...]:
    checks = []
    for key, value in doc.items():
        if key in skip:
            continue
        op = _operator(key, NUMERIC_OPERATORS, path)
        checks.append(Check(op=op, value=_number(value, _where(path, key))))
    if not checks:
        raise _fail(path, f"needs a comparison, one of {', '.join(NUMERIC_OPERATORS)}")
    return tuple(checks)


def _trait_value(op: str, value: Any, path: str) -> Any:
    if op == "exists":
        if not isinstance(value, bool):
            raise _fail(path, f"'exists' takes true or false, got {value!r}")
        return value
    if op == "includes":
        if not isinstance(value, str):
            raise _fail(path, f"'includes' takes a string, got {value!r}")
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise _fail(path, f"{op!r} takes a non-empty list, got {value!r}")
        kinds = {_scalar_kind(v, path) for v in value}
        if len(kinds) > 1:
            raise _fail(path, f"{op!r} takes values of one type (numbers, strings or true/false)"
                        f", got {value!r}")
        return tuple(float(v) if _scalar_kind(v, path) == "number" else v for v in value)
    if op in (">", ">=", "<", "<=") and isinstance(value, bool):
        raise _fail(path, f"{op!r} compares numbers or strings, not {value!r}")
    return float(value) if _scalar_kind(value, path) == "number" else value


def _scalar_kind(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise _fail(path, f"compares with a number, a string or true/false, got {value!r}")


def _window(doc: Mapping[str, Any], path: str) -> float | None:
    try:
        return _Window.model_validate({"within_days": doc.get("within_days")}).within_days
    except ValidationError as exc:
        err = exc.errors()[0]
        got = doc.get("within_days")
        reason = {
            "greater_than": "must be a positive number of days",
            "less_than_equal": f"must be at most {MAX_WINDOW_DAYS} days (100 years)",
            "finite_number": "must be a finite number of days",
        }.get(err["type"]) or err["msg"].removeprefix("Value error, ")
        raise _fail(_where(path, "within_days"), f"{reason}, got {got!r}") from None


def _unknown_keys(doc: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    allowed = list(allowed)
    for key in doc:
        if key not in allowed:
            raise _fail(_where(path, key), f"unknown field {key!r}{_suggest(key, allowed)} "
                        f"(fields here: {', '.join(allowed)})")


def _parse(doc: Any, path: str) -> Rule:
    if not isinstance(doc, Mapping):
        raise _fail(path, f"a rule is an object such as {{\"metric\": \"orders\", \">=\": 2}}, "
                    f"got {doc!r}")
    kinds = [k for k in _KINDS if k in doc]
    if not kinds:
        keys = list(doc) or ["(nothing)"]
        hint = next((s for k in keys if (s := _suggest(str(k), _KINDS))), "")
        raise _fail(_where(path, str(keys[0])), f"unknown field {keys[0]!r}{hint} (a rule "
                    f"starts with one of: {', '.join(_KINDS)})")
    if len(kinds) > 1:
        raise _fail(path, f"one rule per object, found {' and '.join(kinds)}: wrap them in "
                    "\"all\" or \"any\"")
    kind = kinds[0]
    if kind in ("all", "any"):
        _unknown_keys(doc, [kind], path)
        items = doc[kind]
        if not isinstance(items, list) or not items:
            raise _fail(_where(path, kind), f"takes a non-empty list of rules, got {items!r}")
        rules = tuple(_parse(r, f"{_where(path, kind)}[{i}]") for i, r in enumerate(items))
        return AllRule(rules=rules) if kind == "all" else AnyRule(rules=rules)
    if kind == "not":
        _unknown_keys(doc, ["not"], path)
        return NotRule(rule=_parse(doc["not"], _where(path, "not")))
    if kind == "event":
        return _parse_event(doc, path)
    if kind == "metric":
        name = doc["metric"]
        if name not in METRICS:
            raise _fail(_where(path, "metric"), f"unknown metric {name!r}"
                        f"{_suggest(str(name), METRICS)} (metrics: {', '.join(METRICS)})")
        return MetricRule(metric=name, checks=_numeric_checks(doc, path, ("metric",)))
    if kind == "trait":
        return _parse_trait(doc, path)
    _unknown_keys(doc, ["platform", "within_days"], path)
    platforms = doc["platform"]
    platforms = [platforms] if isinstance(platforms, str) else platforms
    if not isinstance(platforms, list) or not platforms or not all(
            isinstance(p, str) and p for p in platforms):
        raise _fail(_where(path, "platform"), "takes a platform name or a list of them (web, "
                    f"ios, android, tv, server, unknown), got {doc['platform']!r}")
    return PlatformRule(platforms=tuple(platforms), within_days=_window(doc, path))


def _parse_where(doc: Mapping[str, Any], path: str) -> tuple[tuple[str, Any], ...]:
    spec = doc.get("where", {})
    where = _where(path, "where")
    if not isinstance(spec, Mapping) or ("where" in doc and not spec):
        raise _fail(where, f"takes {{PROPERTY: VALUE, ...}} such as {{\"category\": "
                    f"\"shoes\"}}, got {spec!r}")
    return tuple((str(k), _trait_value("=", v, f"{where}.{k}")) for k, v in spec.items())


def _parse_event(doc: Mapping[str, Any], path: str) -> EventRule:
    _unknown_keys(doc, ["event", "count", "sum", "within_days", "where"], path)
    name = doc["event"]
    if not isinstance(name, str) or not name.strip():
        raise _fail(_where(path, "event"), f"takes an event name, got {name!r}")
    if "count" in doc and "sum" in doc:
        raise _fail(path, "an event rule has \"count\" or \"sum\", not both")
    within = _window(doc, path)
    filters = _parse_where(doc, path)
    if "sum" in doc:
        spec = doc["sum"]
        where = _where(path, "sum")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("property"), str):
            raise _fail(where, "takes {\"property\": NAME, OPERATOR: NUMBER}, got "
                        f"{spec!r}")
        return EventRule(event=name, within_days=within, measure="sum",
                         property=spec["property"], where=filters,
                         checks=_numeric_checks(spec, where, ("property",)))
    if "count" in doc:
        spec = doc["count"]
        where = _where(path, "count")
        if not isinstance(spec, Mapping):
            raise _fail(where, f"takes {{OPERATOR: NUMBER}} such as {{\">=\": 3}}, got {spec!r}")
        return EventRule(event=name, within_days=within, where=filters,
                         checks=_numeric_checks(spec, where, ()))
    return EventRule(event=name, within_days=within, where=filters)


def _parse_trait(doc: Mapping[str, Any], path: str) -> TraitRule:
    name = doc["trait"]
    if not isinstance(name, str) or not name:
        raise _fail(_where(path, "trait"), f"takes a trait name, got {name!r}")
    checks = []
    for key, value in doc.items():
        if key == "trait":
            continue
        op = _operator(key, TRAIT_OPERATORS, path)
        checks.append(Check(op=op, value=_trait_value(op, value, _where(path, key))))
    if not checks:
        raise _fail(path, f"needs a comparison, one of {', '.join(TRAIT_OPERATORS)}")
    return TraitRule(trait=name, checks=tuple(checks))


def parse_rule(doc: Any, *, known_events: Iterable[str] | None = None) -> Rule:
    """The typed rule of a document (already read from JSON or YAML).

    With ``known_events``, every event name must be one of them (a typo is an error with
    close matches suggested).
    """
    rule = _parse(doc, "")
    if known_events is not None:
        check_events(rule, known_events)
    return rule


def check_events(rule: Rule, known_events: Iterable[str], *,
                 seen: Iterable[str] | None = None, place: str = "data") -> None:
    """Refuse event names that are not in ``known_events``, suggesting close ones.

    ``seen`` are the names the data (``place``: "store", "snapshot") actually holds, which
    the message counts; ``known_events`` may add names accepted before their first event.
    """
    known = sorted(set(known_events))
    present = sorted(set(seen)) if seen is not None else known
    for path, leaf in leaves(rule):
        if isinstance(leaf, EventRule) and leaf.event not in known:
            raise _fail(_where(path, "event"), f"unknown event {leaf.event!r}"
                        f"{_suggest(leaf.event, present or known)} (the {place} has "
                        f"{len(present)} event name{'' if len(present) == 1 else 's'}; "
                        "`tailored events` lists them)")


def trait_warnings(rule: Rule, seen_traits: Iterable[str]) -> list[str]:
    """A warning for each trait the rule names that no profile has (likely a typo: a
    comparison with it matches no one), with close matches among ``seen_traits``."""
    seen = sorted(set(seen_traits))
    out = []
    for path, leaf in leaves(rule):
        if isinstance(leaf, TraitRule) and leaf.trait not in seen:
            out.append(f"rule at {_where(path, 'trait')}: no profile has the trait "
                       f"{leaf.trait!r}{_suggest(leaf.trait, seen)} ({len(seen)} trait "
                       f"name{'' if len(seen) == 1 else 's'} seen); its conditions match as "
                       "if it were unset")
    return out


def load_rule_document(text_or_path: str) -> Any:
    """A rule document from a file (.json, .yaml, .yml) or from inline JSON/YAML text."""
    text = text_or_path
    source = "the rule"
    stripped = text_or_path.strip()
    if stripped and not stripped.startswith(("{", "[")) and "\n" not in stripped:
        path = Path(stripped)
        if not path.exists():
            raise InvalidInput(f"no rule file {stripped!r} (give a path or inline JSON)",
                               field="rule")
        text, source = path.read_text(encoding="utf-8"), str(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as json_error:
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{source} is neither JSON nor YAML: {json_error.msg} at line "
                               f"{json_error.lineno} column {json_error.colno}; YAML: "
                               f"{str(exc).splitlines()[0]}", field="rule") from None
        if not isinstance(doc, dict):
            raise InvalidInput(f"{source} is neither a JSON nor a YAML object: "
                               f"{json_error.msg} at line {json_error.lineno} column "
                               f"{json_error.colno}", field="rule") from None
        return doc
