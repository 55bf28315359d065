"""``tailored segment`` define, compute, lifecycle, list, show, members, overlaps, history and
check: JSON output on both stores, and bad input as one clear line with exit status 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.ingest import Ingestor
from tailored.store import Store
from tests.cli.test_cli import run
from tests.segments.test_compute import EVENTS

RULE = {"all": [{"event": "Order Completed", "count": {">=": 3}, "within_days": 90},
                {"metric": "avg_order_value", ">": 50}, {"platform": "ios"}]}


def invoke(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", url, "segment", *args])


def data_of(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return json.loads(result.stdout)


@pytest.fixture
def shop(store: Store, store_url: str) -> str:
    assert not Ingestor(store).ingest_events(EVENTS).rejected
    return store_url


def test_define_compute_and_read_a_rule_segment(shop: str, store: Store, tmp_path: Path
                                                ) -> None:
    ann, bob = store.find_profile("ann"), store.find_profile("bob")
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text("any:\n  - trait: plan\n    '=': free\n  - platform: ios\n")
    defined = data_of(invoke(shop, "define", "big", "--rule", json.dumps(RULE), "--json"))
    assert defined["conditions"] == 3 and defined["replaced"] is False
    data_of(invoke(shop, "define", "free_or_ios", "--rule", str(rule_file), "--json"))
    computed = data_of(invoke(shop, "compute", "--all", "--json"))
    assert {s["segment"]: s["size"] for s in computed["segments"]} == {"big": 1,
                                                                       "free_or_ios": 2}
    assert data_of(invoke(shop, "members", "big", "--json"))["members"] == [ann]
    listed = data_of(invoke(shop, "list", "--json"))["segments"]
    assert [(s["name"], s["kind"], s["size"]) for s in listed] == [
        ("big", "rule", 1), ("free_or_ios", "rule", 2)]
    shown = data_of(invoke(shop, "show", "big", "--json"))
    assert shown["definition"] == RULE and shown["size"] == 1
    pairs = data_of(invoke(shop, "overlaps", "--json"))["pairs"]
    assert pairs == [{"a": "big", "b": "free_or_ios", "both": 1, "jaccard": 0.5}]
    history = data_of(invoke(shop, "history", "ann", "--json"))
    assert history["current"] == ["big", "free_or_ios"]
    check = data_of(invoke(shop, "check", "bob", "big", "--json"))
    assert check["profile_id"] == bob and check["member"] is False
    assert check["change"] is None and check["metrics"]["orders"] == 1


def test_lifecycle_reports_sizes_seconds_and_empty_segments(shop: str) -> None:
    data = data_of(invoke(shop, "lifecycle", "--json"))
    assert data["sizes"]["churned"] == 1  # bob, 200 days before the end
    assert data["sizes"]["active"] == 2  # ann and cat
    assert data["seconds"] > 0
    assert "empty" in data["notes"]["at_risk"]
    members = data_of(invoke(shop, "members", "at_risk", "--json"))
    assert members["size"] == 0 and members["note"] == "the segment is empty"


@pytest.mark.parametrize(("args", "message"), [
    (["define", "x", "--rule", '{"all": [{"metirc": "orders", ">": 1}]}'],
     "rule error at all[0].metirc: unknown field 'metirc'; did you mean 'metric'?"),
    (["define", "x", "--rule", '{"event": "Order Complete"}'],
     "rule error at event: unknown event 'Order Complete'; did you mean 'Order Completed'"),
    (["define", "x", "--rule", '{"event": "Wishlist Shared"}'],
     "(the store has 2 event names; `tailored events` lists them)"),
    (["define", "x", "--rule", '{"platform": "ios", "within_days": 0}'],
     "rule error at within_days: must be a positive number of days, got 0"),
    (["define", "x", "--rule", '{"all": [{"event": "Order Completed", '
      '"within_days": 1e300}]}'],
     "rule error at all[0].within_days: must be at most 36525 days (100 years), got 1e+300"),
    (["define", "x", "--rule", '{"all": [}'], "the rule is neither JSON nor YAML"),
    (["compute", "nope"], "no segment 'nope'"),
    (["compute"], "give a segment NAME or --all"),
    (["check", "ann", "nope"], "no segment 'nope'"),
    (["history", "nobody-at-all"], "no person with the id 'nobody-at-all'"),
])
def test_bad_input_is_one_line_and_exit_1(shop: str, args: list[str], message: str) -> None:
    r = invoke(shop, *args)
    assert r.exit_code == 1, r.output
    # In process the error is the exception; the real program prints it as one line (below).
    assert message in r.output + str(r.exception)


def test_bad_rule_from_the_real_program(tmp_path: Path) -> None:
    r = run(["segment", "define", "x", "--rule", '{"any": [{"metric": "orders", "=>": 2}]}'],
            tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: rule error at any[0].=>: unknown operator '=>'; did you mean '>=' or '>' or "
        "'='? (operators here: >, >=, <, <=, =, !=)"]


def test_a_mistyped_trait_warns_with_close_matches(shop: str) -> None:
    """A trait no profile has computes to nobody: define and compute both say so."""
    rule = '{"all": [{"trait": "paln", "=": "pro"}, {"metric": "orders", ">=": 0}]}'
    defined = invoke(shop, "define", "typo", "--rule", rule, "--json")
    data = data_of(defined)
    expected = ("rule at all[0].trait: no profile has the trait 'paln'; did you mean 'plan'? "
                "(3 trait names seen)")
    assert len(data["warnings"]) == 1 and data["warnings"][0].startswith(expected)
    assert f"warning: {expected}" in defined.stderr
    computed = invoke(shop, "compute", "typo", "--json")
    [segment] = data_of(computed)["segments"]
    assert segment["size"] == 0 and segment["warnings"] == data["warnings"]
    assert "warning: segment typo: rule at all[0].trait" in computed.stderr
    # A trait some profile has: no warning.
    clean = data_of(invoke(shop, "define", "ok", "--rule", '{"trait": "plan", "=": "pro"}',
                           "--json"))
    assert clean["warnings"] == []
    assert "warnings" not in data_of(invoke(shop, "compute", "ok", "--json"))["segments"][0]
