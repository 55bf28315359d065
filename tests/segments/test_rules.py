"""The rule language: what parses, and bad rules refused with where and what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailored.errors import InvalidInput
from tailored.segments import load_rule_document, parse_rule
from tailored.segments.conditions import (
    AllRule,
    Check,
    EventRule,
    MetricRule,
    NotRule,
    PlatformRule,
    TraitRule,
)

EXAMPLE = {"all": [{"event": "Order Completed", "count": {">=": 3}, "within_days": 90},
                   {"metric": "avg_order_value", ">": 50},
                   {"platform": "ios"}]}


def test_the_example_rule_parses_to_typed_conditions() -> None:
    rule = parse_rule(EXAMPLE, known_events={"Order Completed"})
    assert rule == AllRule(rules=(
        EventRule(event="Order Completed", within_days=90, checks=(Check(op=">=", value=3),)),
        MetricRule(metric="avg_order_value", checks=(Check(op=">", value=50),)),
        PlatformRule(platforms=("ios",))))


def test_forms_of_each_condition() -> None:
    assert parse_rule({"event": "Signed Up"}) == EventRule(event="Signed Up")
    total = parse_rule({"event": "Order Completed",
                        "sum": {"property": "revenue", ">": 100, "<=": 500}})
    assert isinstance(total, EventRule) and total.measure == "sum"
    assert total.property == "revenue" and len(total.checks) == 2
    assert parse_rule({"not": {"trait": "plan", "==": "free"}}) == NotRule(
        rule=TraitRule(trait="plan", checks=(Check(op="=", value="free"),)))
    assert parse_rule({"trait": "age", "in": [18, 19]}) == TraitRule(
        trait="age", checks=(Check(op="in", value=(18.0, 19.0)),))
    shoes = parse_rule({"event": "Order Completed", "where": {"category": "shoes", "n": 2}})
    assert isinstance(shoes, EventRule)
    assert shoes.where == (("category", "shoes"), ("n", 2.0))
    assert parse_rule({"platform": ["ios", "android"], "within_days": 7}) == PlatformRule(
        platforms=("ios", "android"), within_days=7)


@pytest.mark.parametrize(("doc", "where", "words"), [
    ({"all": [{"metric": "orders", ">": 1}, {"metirc": "revenue", ">": 1}]},
     "all[1].metirc", ["unknown field 'metirc'", "did you mean 'metric'"]),
    ({"any": [{"metric": "avg_order_valu", ">": 1}]},
     "any[0].metric", ["unknown metric 'avg_order_valu'", "'avg_order_value'"]),
    ({"all": [{"not": {"metric": "orders", "=>": 2}}]},
     "all[0].not.=>", ["unknown operator '=>'", "did you mean '>='"]),
    ({"trait": "plan", "contains": "x"}, "contains", ["unknown operator 'contains'"]),
    ({"event": "Order Completed", "count": {">=": 1}, "within": 3},
     "within", ["unknown field 'within'", "'within_days'"]),
    ({"event": "Order Completed", "within_days": 0}, "within_days",
     ["must be a positive number of days, got 0"]),
    ({"platform": "ios", "within_days": -3}, "within_days",
     ["must be a positive number of days, got -3"]),
    ({"event": "Order Completed", "within_days": 1e300}, "within_days",
     ["must be at most 36525 days (100 years), got 1e+300"]),
    ({"platform": "ios", "within_days": 10_000_000_000}, "within_days",
     ["must be at most 36525 days"]),
    ({"event": "Order Completed", "within_days": float("inf")}, "within_days",
     ["must be a finite number of days, got inf"]),
    ({"event": "Order Completed", "within_days": float("nan")}, "within_days",
     ["got nan"]),
    ({"event": "Order Completed", "within_days": "ninety"}, "within_days",
     ["must be a number of days"]),
    ({"event": "Order Completed", "count": {">=": "3"}}, "count.>=", ["must be a number"]),
    ({"event": "Order Completed", "where": {}}, "where", ["takes {PROPERTY: VALUE"]),
    ({"event": "Order Completed", "where": {"tags": ["a"]}}, "where.tags",
     ["a number, a string or true/false"]),
    ({"metric": "orders"}, "(the rule)", ["needs a comparison"]),
    ({"all": []}, "all", ["non-empty list"]),
    ({"metric": "orders", ">": 1, "trait": "x"}, "(the rule)", ["one rule per object"]),
    ({"trait": "age", "in": [1, "a"]}, "in", ["one type"]),
    ({"trait": "vip", "exists": "yes"}, "exists", ["true or false"]),
    ({"trait": "tags", "includes": 3}, "includes", ["takes a string"]),
    ({"event": "Order Completed", "count": {">": 1}, "sum": {"property": "x", ">": 1}},
     "(the rule)", ["not both"]),
    (["not", "an", "object"], "(the rule)", ["a rule is an object"]),
])
def test_bad_rules_say_what_and_where(doc: object, where: str, words: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(doc)
    message = str(caught.value)
    assert message.startswith(f"rule error at {where}:"), message
    for w in words:
        assert w in message, message


def test_unknown_event_names_the_place_and_close_names() -> None:
    known = {"Order Completed", "Order Refunded", "Product Viewed"}
    doc = {"all": [{"metric": "orders", ">": 0},
                   {"any": [{"event": "Product Viewed"}, {"event": "Order Complete"}]}]}
    with pytest.raises(InvalidInput, match=r"at all\[1\]\.any\[1\]\.event: unknown event "
                       r"'Order Complete'; did you mean 'Order Completed'"):
        parse_rule(doc, known_events=known)
    # Without a list of known events, any name parses (they are checked against the data).
    assert parse_rule(doc)


def test_rule_documents_from_json_yaml_and_files(tmp_path: Path) -> None:
    assert load_rule_document('{"metric": "orders", ">": 1}') == {"metric": "orders", ">": 1}
    yaml_file = tmp_path / "rule.yaml"
    yaml_file.write_text("all:\n  - metric: orders\n    '>=': 2\n  - platform: ios\n")
    assert load_rule_document(str(yaml_file)) == {
        "all": [{"metric": "orders", ">=": 2}, {"platform": "ios"}]}
    json_file = tmp_path / "rule.json"
    json_file.write_text('{"event": "Order Completed"}')
    assert parse_rule(load_rule_document(str(json_file))) == EventRule(event="Order Completed")


@pytest.mark.parametrize("text", ['{"all": [}', "all: [unclosed", "just words"])
def test_malformed_documents_are_refused(text: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        if text == "just words":
            load_rule_document(str(tmp_path / "missing.json"))
        else:
            load_rule_document(text)
    assert caught.value.field == "rule"
    assert "neither JSON nor YAML" in str(caught.value) or "no rule file" in str(caught.value)
