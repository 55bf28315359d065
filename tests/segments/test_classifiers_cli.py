"""``tailored segment learn``: a stored RFM group or a purchase window as the target, rules or
coefficients in the JSON, and close matches for a mistyped segment."""

from __future__ import annotations

from typing import Any

import pytest

from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.store import Store
from tests.analytics.test_features import ITEMS
from tests.segments.test_classifiers_learning import _shop
from tests.segments.test_rfm_cli import data_of, invoke


@pytest.fixture
def shop(store: Store, store_url: str) -> str:
    store.upsert_items(ITEMS)
    assert not Ingestor(store).ingest_events(_shop()).rejected
    return store_url


def test_learn_a_stored_rfm_group_with_a_tree(shop: str) -> None:
    groups = data_of(invoke(shop, "rfm", "--json"))["groups"]
    target = "rfm:" + max(groups, key=groups.__getitem__)
    data = data_of(invoke(shop, "learn", "--target", target, "--json"))
    assert data["model"] == "tree" and data["target"] == target
    metrics = data["metrics"]
    assert metrics["members"] > 0 and metrics["test"] + metrics["train"] == 60
    assert {"accuracy", "precision", "recall", "f1", "baseline_accuracy"} <= set(metrics)
    assert all(" → in the segment: " in rule["text"] for rule in data["explanation"])


def test_learn_next_purchase_with_logistic_and_selection(shop: str) -> None:
    data = data_of(invoke(shop, "learn", "--target", "next-purchase:30", "--model",
                          "logistic", "--select", "chi2", "--features", "3", "--json"))
    assert len(data["features"]) == 3
    assert data["metrics"]["members"] == 20
    assert "odds of being in the segment" in data["explanation"][0]["text"]


def test_learn_a_mistyped_segment_suggests_the_right_one(shop: str) -> None:
    data_of(invoke(shop, "rfm", "--json"))
    result: Any = invoke(shop, "learn", "--target", "rfm:Champion", "--json")
    assert result.exit_code == 1
    assert isinstance(result.exception, InvalidInput)
    assert "did you mean 'rfm:Champions'" in str(result.exception)
