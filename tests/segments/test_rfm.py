"""RFM: quintile scores with shared ties, the R × FM map, the same on both engines, and a
clear refusal without orders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from tailored.analytics import opened
from tailored.errors import InvalidInput
from tailored.segments.rfm import RFM_GRID, RFM_GROUPS, compute_rfm, rfm_group
from tests.analytics.test_features import DAY0, build_snapshot, order, track

# (orders, value of each order, day of the latest order); as_of is day 100.
BUYERS = {
    "b0": (1, 10.0, 10), "b1": (1, 20.0, 20), "b2": (1, 30.0, 30), "b3": (1, 40.0, 40),
    "b4": (2, 50.0, 50), "b5": (2, 60.0, 60), "b6": (3, 70.0, 70), "b7": (4, 80.0, 80),
    "b8": (5, 90.0, 90), "b9": (6, 100.0, 99),
}
AS_OF = DAY0 + timedelta(days=100)


def _events() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for user, (count, value, last) in BUYERS.items():
        for n in range(count):
            events.append(order(user, last - n * 0.5, n + 1, [("sku1", 1, value / 1.0)]))
    events.append(track("window", "Product Viewed", 0, 1, product_id="sku2"))  # no order
    return events


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot(tmp_path_factory.mktemp("rfm"), "snap", _events())


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_url")
    return "duckdb", None


def _scores(folder: Path, backend: tuple[str, str | None]) -> pd.DataFrame:
    name, url = backend
    with opened(folder, name, url=url, schema="c2_rfm") as source:
        users = source.profiles.select("profile_id", "user_id").execute()
        result = compute_rfm(source, as_of=AS_OF)
    df = result.customers.merge(users, on="profile_id").set_index("user_id").sort_index()
    return df


def test_scores_are_quintiles_of_rank_with_ties_sharing_the_lowest(
        snapshot: Path, backend: tuple[str, str | None]) -> None:
    df = _scores(snapshot, backend)
    assert list(df.index) == sorted(BUYERS)  # the window shopper is no customer
    # Frequencies 1,1,1,1,2,2,3,4,5,6: the four single orders share rank 0 → F 1, and
    # F 2 is skipped: the two-order customers start at rank 4 → floor(5·4/10) + 1 = 3.
    assert list(df.f_score) == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    # Money rises with the customer number, one customer apart each: plain quintiles.
    assert list(df.m_score) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # The latest order of b9 is a day before as_of: the most recent scores 5.
    assert list(df.r_score) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert df.loc["b4", "monetary"] == pytest.approx(100.0)
    assert df.loc["b0", "recency_days"] == pytest.approx(90.0)


def test_groups_follow_the_r_fm_map(snapshot: Path, backend: tuple[str, str | None]) -> None:
    df = _scores(snapshot, backend)
    # FM is the mean of F and M rounded half up: b4 has F 3, M 3 → 3; b6 F 4, M 4 → 4.
    assert df.loc["b9", "group"] == "Champions"    # R 5, FM 5
    assert df.loc["b7", "group"] == "Loyal"        # R 4, FM 4
    assert df.loc["b4", "group"] == "Need Attention"  # R 3, FM 3
    assert df.loc["b0", "group"] == "Lost"         # R 1, FM 1
    assert df.loc["b2", "group"] == "Hibernating"  # R 2, FM 2 (F 1, M 2 → 1.5 → 2)


def test_result_summary_counts_every_group(snapshot: Path) -> None:
    with opened(snapshot) as source:
        result = compute_rfm(source, as_of=AS_OF)
    summary = result.summary()
    assert summary["customers"] == 10
    assert list(summary["groups"]) == list(RFM_GROUPS)
    assert sum(summary["groups"].values()) == 10
    freq = summary["thresholds"]["frequency"]
    assert [t["score"] for t in freq] == [1, 3, 4, 5]
    assert freq[0] == {"score": 1, "min": 1.0, "max": 1.0, "customers": 4}
    members = result.members()
    assert sum(len(v) for v in members.values()) == 10


def test_the_map_names_every_cell_with_the_ten_groups() -> None:
    cells = {rfm_group(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert cells == set(RFM_GROUPS)
    assert len(RFM_GRID) == 5 and all(len(row) == 5 for row in RFM_GRID)
    assert rfm_group(5, 5) == "Champions" and rfm_group(1, 5) == "Can't Lose Them"
    assert rfm_group(5, 1) == "New" and rfm_group(4, 1) == "Promising"


@pytest.mark.parametrize(("r", "fm"), [(0, 3), (3, 6)])
def test_scores_out_of_range_are_refused(r: int, fm: int) -> None:
    with pytest.raises(InvalidInput, match="1 to 5") as err:
        rfm_group(r, fm)
    assert err.value.field == "score"


def test_no_orders_explains_rfm_needs_them(tmp_path: Path) -> None:
    folder = build_snapshot(tmp_path, "views", [
        track("ann", "Product Viewed", 1, 1, product_id="sku1")])
    with opened(folder) as source, pytest.raises(InvalidInput, match="RFM needs orders") as err:
        compute_rfm(source)
    assert err.value.field == "orders"


def test_orders_after_as_of_are_not_counted(snapshot: Path) -> None:
    with opened(snapshot) as source:
        early = compute_rfm(source, as_of=DAY0 + timedelta(days=45))
    # Only b0..b3 ordered before day 45 (b4's first order is on day 49.5).
    assert early.summary()["customers"] == 4
