"""Feature ranges and labels in words."""

from __future__ import annotations

import math

import pytest

from tailored.segments.feature_text import feature_label, range_text

INF = math.inf


@pytest.mark.parametrize(("name", "low", "high", "text"), [
    ("order_recency_days", 2.315, 9.684, "last ordered 2.3 to 9.7 days ago"),
    ("order_recency_days", -INF, 2.315, "last ordered at most 2.3 days ago"),
    ("revenue", 137.8, INF, "spent more than 138"),
    ("avg_order_value", -INF, 42.5, "orders worth at most 42.50 on average"),
    ("orders", 2.5, INF, "at least 3 orders"),
    ("orders", -INF, 0.5, "no orders"),
    ("orders", 1.5, 4.5, "2 to 4 orders"),
    ("views", 3.5, 4.5, "exactly 4 product views"),
    ("share_home_kitchen", 0.4, INF, "more than 40% of their interest in Home Kitchen"),
    ("recency_days", 120.4, INF, "last seen more than 120 days ago"),
    ("price_index", -INF, 0.85, "looks at items priced at most 0.85× their category's median"),
    ("some_new_column", 1.0, INF, "some new column more than 1"),
])
def test_ranges_read_as_words(name: str, low: float, high: float, text: str) -> None:
    assert range_text(name, low, high) == text


def test_labels() -> None:
    assert feature_label("order_recency_days") == "days since the last order"
    assert feature_label("share_books") == "share of interest in Books"
    assert feature_label("x_y") == "x y"
