"""Views per page, item and category, per person, and sessions, on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from tailored.analytics import Source, people, session_summary, sessions, views
from tailored.errors import InvalidInput


def rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def by_user(tiny: Source) -> dict[str, str]:
    p = tiny.profiles
    return {r["profile_id"]: r["user_id"] for r in rows(p.select("profile_id", "user_id"))}


def test_views_per_item_page_and_category(tiny: Source) -> None:
    assert rows(views(tiny, by="item")) == [
        {"key": "p1", "views": 2, "people": 2}, {"key": "p2", "views": 2, "people": 2}]
    assert rows(views(tiny, by="page")) == [
        {"key": "Home", "views": 2, "people": 2}, {"key": "Shoes", "views": 1, "people": 1}]
    assert [r["key"] for r in rows(views(tiny, by="category"))] == ["Books", "Shoes > Running"]
    assert [r["key"] for r in rows(views(tiny, by="category", level=1))] == ["Books", "Shoes"]


def test_views_refuse_an_unknown_kind_and_level(tiny: Source) -> None:
    with pytest.raises(InvalidInput, match="by must be one of page, item, category"):
        views(tiny, by="brand")
    with pytest.raises(InvalidInput, match="level must be 1 or more"):
        views(tiny, by="category", level=0)


def test_people_counts_views_orders_and_revenue(tiny: Source) -> None:
    users = by_user(tiny)
    got = {users[r["profile_id"]]: r for r in rows(people(tiny))}
    assert {u: got[u]["events"] for u in "abc"} == {"a": 10, "b": 7, "c": 9}
    assert {u: got[u]["page_views"] for u in "abc"} == {"a": 1, "b": 2, "c": 0}
    assert {u: got[u]["item_views"] for u in "abc"} == {"a": 2, "b": 1, "c": 1}
    assert {u: got[u]["orders"] for u in "abc"} == {"a": 2, "b": 0, "c": 1}
    assert {u: got[u]["revenue"] for u in "abc"} == {"a": 70.0, "b": 0.0, "c": 10.0}


def test_sessions_split_at_the_gap(tiny: Source) -> None:
    users = by_user(tiny)
    got = [(users[r["profile_id"]], r["session"], r["events"], r["duration_seconds"],
            r["platform"]) for r in rows(sessions(tiny))]
    assert sorted(got) == [
        ("a", 1, 7, 1380.0, "ios"), ("a", 2, 1, 0.0, "ios"), ("a", 3, 2, 60.0, "ios"),
        ("b", 1, 3, 120.0, "web"), ("b", 2, 4, 180.0, "web"),
        ("c", 1, 9, 1980.0, "android")]


def test_session_summary_and_a_longer_gap(tiny: Source) -> None:
    (s,) = rows(session_summary(tiny))
    assert (s["sessions"], s["people"], s["sessions_per_person"]) == (6, 3, 2.0)
    assert s["bounce_rate"] == pytest.approx(1 / 6)
    assert s["events_per_session"] == pytest.approx(26 / 6)
    assert s["median_duration_seconds"] == pytest.approx(150.0)
    (longer,) = rows(session_summary(tiny, gap_minutes=60))
    assert longer["sessions"] == 5
    per_platform = {r["platform"]: r["sessions"] for r in rows(
        session_summary(tiny, by="platform"))}
    assert per_platform == {"ios": 3, "web": 2, "android": 1}


def test_sessions_refuse_a_bad_gap_and_breakdown(tiny: Source) -> None:
    with pytest.raises(InvalidInput, match="gap must be a positive number"):
        sessions(tiny, gap_minutes=0)
    with pytest.raises(InvalidInput, match="by must be one of platform"):
        session_summary(tiny, by="country")


def test_an_empty_snapshot_gets_a_clear_message(empty: Source) -> None:
    with pytest.raises(InvalidInput, match="has no events: ingest or import some") as err:
        views(empty)
    assert err.value.field == "snapshot"
