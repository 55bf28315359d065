"""Learning a segment from a snapshot: every kind of target, a held-out test beside a baseline,
and the bad targets (unknown with suggestions, empty, everyone)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tailored.analytics import opened
from tailored.errors import InvalidInput
from tailored.segments.learning import learn_segment, target_members
from tests.analytics.test_features import DAY0, build_snapshot, order, track


def _shop(n: int = 60) -> list[dict[str, Any]]:
    """Heavy viewers (every third person) buy in the last 30 days; the others do not."""
    events: list[dict[str, Any]] = []
    for i in range(n):
        user = f"p{i:02d}"
        heavy = i % 3 == 0
        for j in range(12 if heavy else 2 + i % 2):
            events.append(track(user, "Product Viewed", 5 + j * 3 + i * 0.01, j + 1,
                                product_id="sku2" if heavy else "sku3"))
        if heavy:
            events.append(order(user, 50 + (i % 5), 100, [("sku2", 1, 20.0 + i)]))
            events.append(order(user, 95 + (i % 4), 101, [("sku2", 1, 15.0)]))
    return events


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot(tmp_path_factory.mktemp("learn"), "snap", _shop())


def test_next_purchase_is_learned_from_features_before_the_cut_off(snapshot: Path) -> None:
    with opened(snapshot) as source:
        result = learn_segment(source, "next-purchase:30", model="tree")
    summary = result.summary()
    # The latest event is an order on day 98: the cut-off is 30 days earlier, after the
    # first orders (days 50-54), and the label window ends with that latest order.
    assert result.as_of == DAY0 + timedelta(days=68)
    assert summary["metrics"]["members"] == 20 and summary["metrics"]["customers"] == 60
    assert summary["metrics"]["accuracy"] == 1.0
    assert summary["metrics"]["baseline_accuracy"] < 0.7
    assert summary["explanation"][0]["precision"] == 1.0


def test_a_rule_target_is_learned_with_selection(snapshot: Path) -> None:
    rule = json.dumps({"metric": "views", ">=": 10})
    with opened(snapshot) as source:
        result = learn_segment(source, rule, model="logistic", select="mutual_info",
                               k_features=3)
    summary = result.summary()
    assert summary["metrics"]["members"] == 20
    assert len(summary["features"]) == 3 and len(summary["feature_scores"]) > 3
    assert summary["metrics"]["roc_auc"] == 1.0
    assert summary["explanation"][0]["coefficient"] > 0


def test_a_stored_segment_is_read_through_the_lookup(snapshot: Path) -> None:
    with opened(snapshot) as source:
        heavy = target_members(source, "next-purchase:30")[0]
        result = learn_segment(source, "vip", lookup={"vip": heavy}.get, known=["vip"],
                               model="tree", select="chi2", k_features=4)
    assert result.metrics["members"] == 20 and result.metrics["f1"] == 1.0


@pytest.mark.parametrize(("target", "message"), [
    ("vpi", "unknown target segment 'vpi'; did you mean 'vip'"),
    ("empty", "segment 'empty' has no members"),
    ("", "the target is empty"),
])
def test_bad_targets_are_explained(snapshot: Path, target: str, message: str) -> None:
    lookup = {"vip": ["x"], "empty": []}.get
    with opened(snapshot) as source, pytest.raises(InvalidInput) as err:
        learn_segment(source, target, lookup=lookup, known=["vip", "empty"])
    assert message in str(err.value)
    assert err.value.field == "target"


def test_a_target_holding_everyone_has_nothing_to_learn(snapshot: Path) -> None:
    with opened(snapshot) as source, pytest.raises(InvalidInput, match="at least 2") as err:
        learn_segment(source, json.dumps({"metric": "views", ">=": 1}))
    assert err.value.field == "target"


def test_unknown_model_is_refused(snapshot: Path) -> None:
    with opened(snapshot) as source, pytest.raises(InvalidInput) as err:
        learn_segment(source, "next-purchase:30", model="forest")
    assert err.value.field == "model"
