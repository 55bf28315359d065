"""Demographics, needs, satisfaction and loyalty on the tiny shop, on both engines."""

from __future__ import annotations

from typing import Any

import ibis
import pytest

from tailored.analytics import (
    Source,
    age_band,
    crosstab,
    csat,
    distribution,
    favourites,
    nps,
    price_ranges,
    profile_groups,
    ratings,
    repeat_purchases,
)
from tailored.errors import InvalidInput


def rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def user_of(tiny: Source) -> dict[str, str]:
    p = tiny.profiles
    return {r["profile_id"]: r["user_id"] for r in rows(p.select("profile_id", "user_id"))}


def test_distribution_of_a_trait_and_of_age_bands(tiny: Source) -> None:
    assert rows(distribution(tiny, "gender")) == [
        {"value": "female", "people": 2, "share": pytest.approx(2 / 3)},
        {"value": "male", "people": 1, "share": pytest.approx(1 / 3)}]
    assert {r["value"] for r in rows(distribution(tiny, "age"))} == {"18-24", "25-34", "65+"}


def test_crosstab_gives_conversion_and_spend_per_value(tiny: Source) -> None:
    got = {r["value"]: r for r in rows(crosstab(tiny, "country"))}
    de, fr = got["DE"], got["FR"]
    assert (de["people"], de["buyers"], de["conversion"], de["orders"]) == (2, 2, 1.0, 3)
    assert (de["orders_per_buyer"], de["revenue"], de["revenue_per_person"]) == (1.5, 80, 40)
    assert (de["raters"], de["avg_rating"]) == (2, 4.0)
    assert (fr["people"], fr["buyers"], fr["conversion"], fr["revenue"]) == (1, 0, 0.0, 0.0)
    assert fr["avg_rating"] is None and fr["orders_per_buyer"] is None


def test_unknown_trait_suggests_close_names(tiny: Source) -> None:
    with pytest.raises(InvalidInput) as err:
        distribution(tiny, "contry")
    assert err.value.field == "trait"
    assert "unknown trait 'contry'" in str(err.value) and "'country'" in str(err.value)
    with pytest.raises(InvalidInput, match="empty"):
        crosstab(tiny, " ")


def test_age_band_keeps_text_that_is_already_a_band() -> None:
    t = ibis.memtable({"v": ["30", " 17 ", "65", "25-34", None]})
    assert t.select(b=age_band(t.v)).to_pyarrow().column("b").to_pylist() == [
        "25-34", "under 18", "65+", "25-34", None]


def test_favourites_weigh_orders_over_carts_over_views_and_ratings_by_stars(tiny: Source) -> None:
    users = user_of(tiny)
    got: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for r in rows(favourites(tiny)):
        got.setdefault((users[r["profile_id"]], r["kind"]), []).append((r["value"], r["score"]))
    # a: p1 viewed (1), carted (3), ordered (5), rated (2); p2 viewed (1), ordered (5).
    assert got["a", "category"] == [("Shoes > Running", 11.0), ("Books", 6.0)]
    assert got["a", "brand"] == [("Acme", 11.0), ("Verde", 6.0)]
    assert got["a", "product"] == [("p1", 11.0), ("p2", 6.0)]
    assert got["b", "category"] == [("Shoes > Running", 4.0)]
    # c: p2 viewed (1), carted (3), ordered (5), rated 3 stars (0).
    assert got["c", "brand"] == [("Verde", 9.0)]
    assert got["a", "tag"] == [("outdoor", 11.0), ("sport", 11.0)]
    assert ("c", "tag") not in got
    top1 = rows(favourites(tiny, top=1))
    assert all(r["rank"] == 1 for r in top1) and len(top1) == 11


def test_price_range_is_the_middle_half_of_prices(tiny: Source) -> None:
    users = user_of(tiny)
    got = {users[r["profile_id"]]: r for r in rows(price_ranges(tiny))}
    # a's prices: 10, 10, 50, 50, 50, 50
    assert (got["a"]["price_low"], got["a"]["price_median"], got["a"]["price_high"]) == (
        pytest.approx(20.0), 50.0, 50.0)
    assert got["a"]["priced"] == 6
    assert (got["b"]["price_low"], got["b"]["price_high"]) == (50.0, 50.0)


def test_needs_refuse_a_bad_top(tiny: Source) -> None:
    with pytest.raises(InvalidInput, match="top must be 1 or more"):
        favourites(tiny, top=0)


def test_nps_csat_and_ratings(tiny: Source) -> None:
    # NPS: a 10 (promoter), b 5 (detractor); c's "ten" is not a number.
    assert rows(nps(tiny)) == [{"group": "all", "answers": 2, "promoters": 1, "passives": 0,
                                "detractors": 1, "nps": 0.0}]
    # CSAT: b "4", c 2 (as survey_type/value); c's 9 is off the scale.
    assert rows(csat(tiny)) == [{"group": "all", "answers": 2, "satisfied": 1, "csat": 50.0,
                                 "mean_score": 3.0}]
    (r,) = rows(ratings(tiny))
    assert (r["ratings"], r["raters"], r["items"], r["avg_rating"]) == (2, 2, 2, 4.0)


def test_satisfaction_by_trait_and_over_time(tiny: Source) -> None:
    assert {r["group"]: r["nps"] for r in rows(nps(tiny, by="gender"))} == {
        "female": 100.0, "male": -100.0}
    assert rows(csat(tiny, period="month"))[0]["period"] == "2026-01-01"
    weekly = {r["period"]: r["avg_rating"] for r in rows(ratings(tiny, period="week"))}
    assert weekly == {"2026-01-05": 5.0, "2026-01-12": 3.0}
    with pytest.raises(InvalidInput, match="period must be one of"):
        nps(tiny, period="quarter")


def test_repeat_purchases_count_buyers_back_on_another_day(tiny: Source) -> None:
    assert rows(repeat_purchases(tiny)) == [{
        "group": "all", "buyers": 2, "repeat_buyers": 1, "repeat_rate": 0.5,
        "orders_per_buyer": 1.5, "purchase_days_per_buyer": 1.5}]
    by_country = {r["group"]: r["repeat_rate"] for r in rows(repeat_purchases(tiny,
                                                                               by="country"))}
    assert by_country == {"DE": 0.5}


def test_segment_breakdown_reads_segment_members(tiny: Source) -> None:
    users = {u: pid for pid, u in user_of(tiny).items()}
    groups = {(r["profile_id"], r["group"]) for r in rows(profile_groups(tiny, "segment"))}
    assert groups == {(users["a"], "vip"), (users["b"], "vip"), (users["a"], "shoes")}
    assert {r["group"]: r["nps"] for r in rows(nps(tiny, by="segment"))} == {
        "vip": 0.0, "shoes": 100.0}
    assert {r["group"]: r["buyers"] for r in rows(repeat_purchases(tiny, by="segment"))} == {
        "vip": 1, "shoes": 1}


def test_segment_breakdown_without_segments_says_so(empty: Source) -> None:
    with pytest.raises(InvalidInput, match="no one is in a segment") as err:
        profile_groups(empty, "segment")
    assert err.value.field == "by"
