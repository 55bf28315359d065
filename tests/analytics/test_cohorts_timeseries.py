"""Retention by start period or group, and time series with their forecast."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tailored.analytics import Source, forecast, retention, series, timeseries
from tailored.errors import InvalidInput


def rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def table(result: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(r["cohort"], r["period"], r["size"], r["active"], r["retention"]) for r in result}


def test_weekly_retention_by_first_seen_week(tiny: Source) -> None:
    # a and b start in the week of 5 January, c a week later; a comes back in week 2.
    assert table(rows(retention(tiny, period="week"))) == {
        ("2026-01-05", 0, 2, 2, 1.0), ("2026-01-05", 1, 2, 0, 0.0),
        ("2026-01-05", 2, 2, 1, 0.5), ("2026-01-12", 0, 1, 1, 1.0),
        ("2026-01-12", 1, 1, 0, 0.0)}


def test_monthly_retention_and_order_activity(tiny: Source) -> None:
    assert table(rows(retention(tiny, period="month"))) == {("2026-01-01", 0, 3, 3, 1.0)}
    # Buyers only: a (orders 5 and 20 January), c (12 January).
    assert table(rows(retention(tiny, period="week", kind="order", periods=2))) == {
        ("2026-01-05", 0, 1, 1, 1.0), ("2026-01-05", 1, 1, 0, 0.0),
        ("2026-01-05", 2, 1, 1, 1.0), ("2026-01-12", 0, 1, 1, 1.0),
        ("2026-01-12", 1, 1, 0, 0.0)}


def test_retention_by_a_trait_counts_from_each_persons_start(tiny: Source) -> None:
    got = table(rows(retention(tiny, period="week", by="gender")))
    assert ("female", 0, 2, 2, 1.0) in got
    assert ("female", 2, 2, 1, 0.5) in got
    assert ("male", 0, 1, 1, 1.0) in got


def test_retention_refuses_bad_options(tiny: Source) -> None:
    with pytest.raises(InvalidInput, match="period must be one of day, week, month"):
        retention(tiny, period="year")
    with pytest.raises(InvalidInput, match="activity must be one of any, order"):
        retention(tiny, kind="views")
    with pytest.raises(InvalidInput, match=r"unknown trait 'gendr'.*'gender'"):
        retention(tiny, by="gendr")


def test_weekly_series_counts_events_orders_and_revenue(tiny: Source) -> None:
    got = [(str(r["start"])[:10], r["events"], r["people"], r["orders"], r["revenue"])
           for r in rows(series(tiny, period="week"))]
    assert got == [("2026-01-05", 15, 2, 1, 50.0), ("2026-01-12", 9, 1, 1, 10.0),
                   ("2026-01-19", 2, 1, 1, 20.0)]


def test_timeseries_fills_gaps_and_says_when_it_cannot_forecast(tiny: Source) -> None:
    weekly = timeseries(tiny, period="week", horizon=2)
    assert weekly["partial_last"] is True  # the data stops on Tuesday 20 January
    assert [r["events"] for r in weekly["rows"]] == [15, 9, 2]
    assert weekly["forecast"]["orders"]["values"] is None
    assert "needs at least 4 complete periods" in weekly["forecast"]["orders"]["reason"]
    daily = timeseries(tiny, period="day", horizon=3, metrics=("events",))
    assert len(daily["rows"]) == 16  # 5 to 20 January, quiet days as zeros
    assert daily["rows"][1] == {"start": "2026-01-06", "events": 7, "people": 1, "orders": 0,
                                "revenue": 0.0}
    assert daily["rows"][2]["events"] == 1 and daily["rows"][3]["events"] == 0
    assert len(daily["forecast"]["events"]["values"]) == 3
    assert daily["forecast"]["events"]["start"] == ["2026-01-21", "2026-01-22", "2026-01-23"]


def test_timeseries_refuses_bad_period_metric_and_horizon(tiny: Source) -> None:
    with pytest.raises(InvalidInput, match="got 'weekly' \\(did you mean 'week'\\?\\)"):
        timeseries(tiny, period="weekly")
    with pytest.raises(InvalidInput, match="metric must be one of"):
        timeseries(tiny, metrics=("clicks",))
    with pytest.raises(InvalidInput, match="horizon must be 0 or more"):
        timeseries(tiny, horizon=-1)


def test_forecast_follows_a_trend() -> None:
    rising = pd.Series([10.0, 12, 14, 16, 18, 20, 22, 24])
    got = forecast(rising, 2)["values"]
    assert got[0] > 24 and got[1] > got[0]
    assert forecast(pd.Series([5.0] * 6), 2)["values"] == [5.0, 5.0]
    assert forecast(pd.Series([1.0, 2.0]), 2)["values"] is None


def test_series_on_an_empty_snapshot(empty: Source) -> None:
    with pytest.raises(InvalidInput, match="has no events"):
        timeseries(empty)


def test_forecast_keeps_a_weekly_rhythm() -> None:
    """Four weeks of a Friday spike: the forecast spikes on the next Fridays, not a flat line."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2026-06-01", periods=28, freq="D")  # a Monday
    y = pd.Series(300 + rng.normal(0, 10, 28) + np.where(days.dayofweek == 4, 300, 0))
    got = forecast(y, 14, season=7)
    assert got["method"] == "holt-winters" and got["seasonal_periods"] == 7
    values = np.array(got["values"])
    fridays = [i for i in range(14) if (days[-1] + pd.Timedelta(days=i + 1)).dayofweek == 4]
    others = [i for i in range(14) if i not in fridays]
    assert values[fridays].min() > values[others].max() + 150
    # Without a season to look for, or with under two weeks of data: the trend alone.
    assert forecast(y, 7)["method"] == "holt-damped"
    assert forecast(y[:13], 7, season=7)["method"] == "holt-damped"
    # A series without a weekly rhythm does not get one.
    flat = pd.Series(300 + rng.normal(0, 10, 28))
    assert forecast(flat, 7, season=7)["method"] == "holt-damped"
