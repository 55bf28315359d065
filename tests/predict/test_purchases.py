"""The BTYD summary of purchase days: exact on a hand-made store, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tailored.analytics import opened
from tailored.errors import InvalidInput
from tailored.predict.purchases import check_period, purchase_range, rfm_summary
from tests.predict.conftest import build_snapshot, order, view

# DAY0 is 2025-01-06. ann buys twice on day 0 (one purchase day), on day 14 and on day 21,
# then on day 30 (holdout); bob buys once on day 7 and views later; cid buys only after the
# calibration end; dan only views.
EVENTS = [
    order("ann", 0, 1, 10.0), order("ann", 0.1, 2, 5.0), order("ann", 14, 3, 20.0),
    order("ann", 21, 4, 30.0), order("ann", 30, 5, 8.0),
    order("bob", 7, 1, 12.0), view("bob", 25, 1),
    order("cid", 35, 1, 4.0), view("dan", 3, 1),
]
CAL_END, HOLD_END = date(2025, 1, 27), date(2025, 2, 10)  # days 21 and 35


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot(tmp_path_factory.mktemp("purchases"), "shop", EVENTS)


def test_summary_counts_repeat_purchase_days(folder: Path, backend: tuple[str, str | None]
                                             ) -> None:
    name, url = backend
    with opened(folder, name, url=url, schema="d_purchases") as source:
        users = dict(source.profiles.select("profile_id", "user_id").execute().values)
        df = rfm_summary(source, calibration_end=CAL_END, holdout_end=HOLD_END,
                         time_unit="weeks")
    df["user"] = df["customer_id"].map(users)
    rows = df.set_index("user").to_dict("index")
    assert sorted(rows) == ["ann", "bob"]  # cid first bought after the calibration end
    ann = rows["ann"]
    assert (ann["frequency"], ann["recency"], ann["T"]) == (2, 3.0, 3.0)
    assert ann["monetary_value"] == 25.0  # mean of the repeat days: 20 and 30
    assert ann["holdout_frequency"] == 1 and ann["first_day"] == date(2025, 1, 6)
    bob = rows["bob"]
    assert (bob["frequency"], bob["recency"], bob["T"], bob["monetary_value"]) == (
        0, 0.0, 2.0, 0.0)
    assert bob["holdout_frequency"] == 0


def test_summary_in_days(folder: Path) -> None:
    with opened(folder) as source:
        df = rfm_summary(source, calibration_end=CAL_END, time_unit="days")
    assert "holdout_frequency" not in df.columns
    assert sorted(df["T"]) == [14.0, 21.0]


def test_range_and_period_checks_name_the_data_range(folder: Path) -> None:
    with opened(folder) as source:
        span = purchase_range(source)
        assert (span.first, span.last, span.customers) == (
            date(2025, 1, 6), date(2025, 2, 10), 3)
        with pytest.raises(InvalidInput, match="2025-01-06 to 2025-02-10") as err:
            check_period(date(2024, 1, 1), None, span)
        assert err.value.field == "calibration_end"
        with pytest.raises(InvalidInput, match="not after the calibration end") as err:
            check_period(CAL_END, date(2025, 1, 20), span)
        assert err.value.field == "holdout_end"
        with pytest.raises(InvalidInput, match="after the data") as err:
            check_period(CAL_END, date(2025, 3, 1), span)
        with pytest.raises(InvalidInput, match="time unit must be one of days, weeks"):
            rfm_summary(source, calibration_end=CAL_END, time_unit="months")


def test_no_purchases_at_all_is_bad_input(tmp_path: Path) -> None:
    folder = build_snapshot(tmp_path, "views", [view("dan", 1, 1)])
    with opened(folder) as source, pytest.raises(InvalidInput, match="no purchases"):
        purchase_range(source)
