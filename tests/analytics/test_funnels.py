"""Funnels: people per step, conversion and median time between steps, by platform and
device, on both engines; bad steps are refused with suggestions."""

from __future__ import annotations

from typing import Any

import pytest

from tailored.analytics import DEFAULT_STEPS, Source, event_names, funnel
from tailored.errors import InvalidInput


def rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def column(result: list[dict[str, Any]], name: str, group: str = "all") -> list[Any]:
    return [r[name] for r in result if r["group"] == group]


def test_default_funnel_counts_people_and_median_times(tiny: Source) -> None:
    result = rows(funnel(tiny))
    assert column(result, "event") == list(DEFAULT_STEPS)
    assert column(result, "people") == [3, 3, 2, 2]
    assert column(result, "conversion") == pytest.approx([1, 1, 2 / 3, 2 / 3])
    assert column(result, "step_conversion") == pytest.approx([1, 1, 2 / 3, 1])
    # a 300 s, b 3000 s, c 120 s to the cart; a 300 s, c 60 s to checkout; a 600, c 60 to order
    assert column(result, "median_seconds")[1:] == pytest.approx([300.0, 180.0, 330.0])
    assert column(result, "median_seconds")[0] is None


def test_breakdown_by_platform_and_device_shows_empty_steps_as_zero(tiny: Source) -> None:
    by_platform = rows(funnel(tiny, by="platform"))
    assert {r["group"] for r in by_platform} == {"android", "ios", "web"}
    assert column(by_platform, "people", "web") == [1, 1, 0, 0]
    assert column(by_platform, "conversion", "web") == pytest.approx([1, 1, 0, 0])
    assert column(by_platform, "people", "ios") == [1, 1, 1, 1]
    by_device = rows(funnel(tiny, by="device"))
    # Apps send context.device.type; the web falls back to its platform.
    assert column(by_device, "people", "android") == [1, 1, 1, 1]
    assert column(by_device, "people", "web") == [1, 1, 0, 0]


def test_any_ordered_events_and_a_window(tiny: Source) -> None:
    result = rows(funnel(tiny, ["Product Added", "Survey Answered"]))
    # a answers 16 min after the cart, b 1 min after, c 3 min after
    assert column(result, "people") == [3, 3]
    assert column(result, "median_seconds")[1] == pytest.approx(180.0)
    # Within 250 s of the first view only c (view 08:00, order 08:04) gets through.
    windowed = rows(funnel(tiny, window_days=250 / 86_400))
    assert column(windowed, "people") == [3, 1, 1, 1]


def test_a_repeated_step_needs_a_later_event(tiny: Source) -> None:
    result = rows(funnel(tiny, ["Product Viewed", "Product Viewed"]))
    assert column(result, "people") == [3, 1]  # only a viewed twice


def test_unknown_step_names_the_step_and_close_matches(tiny: Source) -> None:
    with pytest.raises(InvalidInput) as err:
        funnel(tiny, ["Product Viewed", "Order Complete"])
    assert err.value.field == "steps[2]"
    assert "unknown event 'Order Complete'" in str(err.value)
    assert "did you mean 'Order Completed'" in str(err.value)


def test_too_few_steps_and_bad_options_are_refused(tiny: Source) -> None:
    with pytest.raises(InvalidInput, match="at least 2 steps, got 1"):
        funnel(tiny, ["Product Viewed"])
    with pytest.raises(InvalidInput, match="not one string"):
        funnel(tiny, "Product Viewed")
    with pytest.raises(InvalidInput, match="by must be one of platform, device"):
        funnel(tiny, by="country")
    with pytest.raises(InvalidInput, match="window must be a positive number"):
        funnel(tiny, window_days=0)


def test_event_names_lists_track_events(tiny: Source) -> None:
    assert "Order Completed" in event_names(tiny)
    assert "Home" not in event_names(tiny)


def test_funnel_on_an_empty_snapshot(empty: Source) -> None:
    with pytest.raises(InvalidInput, match="has no events"):
        funnel(empty)
