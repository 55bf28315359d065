"""Rule segments computed for everyone (one query, DuckDB and PostgreSQL) and for one person
from the store: exact members on a hand-made store, membership recorded with history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tailored.analytics import opened
from tailored.errors import InvalidInput, NotFound
from tailored.ingest import Ingestor
from tailored.segments import (
    check_person,
    compute_segments,
    current_members,
    define_segment,
    members_query,
    parse_rule,
    profile_segments,
)
from tailored.store import Store
from tailored.store.snapshots import export_snapshot

END = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def at(days_before: float) -> str:
    return (END - timedelta(days=days_before)).isoformat()


def on(platform: str) -> dict[str, Any]:
    return {"platform": platform}


def order(user: str, days_before: float, n: int, value: float, platform: str
          ) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": user,
            "timestamp": at(days_before), "messageId": f"{user}-o{n}", "context": on(platform),
            "properties": {"order_id": f"{user}-{n}", "revenue": value,
                           "products": [{"product_id": "sku", "quantity": 1, "price": value}]}}


EVENTS: list[dict[str, Any]] = [
    {"type": "identify", "userId": "ann", "timestamp": at(100), "messageId": "ann-id",
     "traits": {"plan": "pro", "tags": ["vip", "beta"], "income": 90000}},
    order("ann", 80, 1, 60, "ios"), order("ann", 40, 2, 60, "ios"), order("ann", 0, 3, 60, "ios"),
    {"type": "identify", "userId": "bob", "timestamp": at(300), "messageId": "bob-id",
     "traits": {"plan": "free", "income": "30000"}},
    order("bob", 200, 1, 20, "web"),
    {"type": "track", "event": "Product Viewed", "userId": "cat", "timestamp": at(2),
     "messageId": "cat-v", "context": on("android"), "properties": {"product_id": "sku"}},
    {"type": "identify", "userId": "dan", "timestamp": at(5), "messageId": "dan-id",
     "traits": {"plan": "team"}},
]

CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"all": [{"event": "Order Completed", "count": {">=": 3}, "within_days": 90},
              {"metric": "avg_order_value", ">": 50}, {"platform": "ios"}]}, ["ann"]),
    ({"not": {"event": "Order Completed"}}, ["cat", "dan"]),
    ({"event": "Order Completed", "count": {">=": 2}, "within_days": 60}, ["ann"]),
    ({"event": "Order Completed", "count": {">=": 2}, "within_days": 30}, []),
    ({"trait": "income", ">=": 50000}, ["ann"]),
    ({"trait": "income", "<": 50000}, ["bob"]),
    ({"trait": "tags", "includes": "beta"}, ["ann"]),
    ({"trait": "plan", "in": ["free", "team"]}, ["bob", "dan"]),
    ({"trait": "plan", "!=": "pro"}, ["bob", "dan"]),
    ({"metric": "recency_days", ">": 180}, ["bob"]),
    ({"metric": "orders", "<": 1}, ["cat", "dan"]),
    ({"event": "Order Completed", "sum": {"property": "revenue", ">=": 100}}, ["ann"]),
    ({"event": "Order Completed", "where": {"order_id": "bob-1"}}, ["bob"]),
    ({"event": "Order Completed", "count": {">=": 2}, "where": {"revenue": 60}}, ["ann"]),
    ({"any": [{"platform": "android"}, {"trait": "plan", "exists": False}]}, ["cat"]),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("rules")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    assert not Ingestor(store).ingest_events(EVENTS).rejected
    export_snapshot(store, folder / "snap")
    ids = {u: store.find_profile(u) for u in ("ann", "bob", "cat", "dan")}
    yield store, folder / "snap", ids
    store.close()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_url")
    return "duckdb", None


def names_of(ids: dict[str, str], pids: list[str]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return sorted(by_id[p] for p in pids)


def test_rules_select_exactly_their_members(shop: Any, backend: tuple[str, str | None]) -> None:
    _, snap, ids = shop
    with opened(snap, backend[0], url=backend[1]) as source:
        for doc, expected in CASES:
            got = members_query(parse_rule(doc), source).execute()["profile_id"].tolist()
            assert names_of(ids, got) == expected, doc


def test_as_of_leaves_out_later_events(shop: Any, backend: tuple[str, str | None]) -> None:
    _, snap, ids = shop
    rule = parse_rule({"event": "Order Completed", "count": {">=": 2}})
    with opened(snap, backend[0], url=backend[1]) as source:
        now = members_query(rule, source).execute()["profile_id"].tolist()
        before = members_query(rule, source, as_of=END - timedelta(days=50)).execute()
    assert names_of(ids, now) == ["ann"]
    assert before.empty  # ann's second order was 40 days before the end


def test_compute_records_membership_and_one_person_check_agrees(shop: Any) -> None:
    store, snap, ids = shop
    define_segment(store, "big_ios_buyers", CASES[0][0])
    with opened(snap) as source:
        (result,) = compute_segments(store, source, ["big_ios_buyers"])
    assert result["size"] == 1 and result["entered"] == 1
    assert current_members(store, "big_ios_buyers") == [ids["ann"]]
    for user in ids:
        check = check_person(store, "big_ios_buyers", user, record=False)
        assert check["member"] == (user == "ann")
    assert check_person(store, "big_ios_buyers", "ann")["change"] is None


def test_one_person_check_updates_only_that_persons_membership(shop: Any) -> None:
    store, _, ids = shop
    define_segment(store, "pro_plan", {"trait": "plan", "=": "pro"})
    # Nobody computed yet: checking ann enters her; checking bob changes nothing.
    assert check_person(store, "pro_plan", "ann")["change"] == "entered"
    assert check_person(store, "pro_plan", "bob")["change"] is None
    assert current_members(store, "pro_plan") == [ids["ann"]]
    # Redefined so ann no longer fits: her stay is closed, with history kept.
    define_segment(store, "pro_plan", {"trait": "plan", "=": "enterprise"})
    assert check_person(store, "pro_plan", "ann")["change"] == "left"
    stays = [h for h in profile_segments(store, "ann") if h["segment"] == "pro_plan"]
    assert len(stays) == 1 and stays[0]["left_at"] is not None


def test_empty_segment_is_reported_with_a_note(shop: Any) -> None:
    store, snap, _ = shop
    define_segment(store, "nobody", {"metric": "orders", ">": 1000})
    with opened(snap) as source:
        (result,) = compute_segments(store, source, ["nobody"])
    assert result["size"] == 0 and "empty" in result["note"]


def test_define_refuses_unknown_events_and_compute_unknown_segments(shop: Any) -> None:
    store, snap, _ = shop
    with pytest.raises(InvalidInput, match="did you mean 'Order Completed'"):
        define_segment(store, "typo", {"event": "Order Complted"})
    with opened(snap) as source, pytest.raises(NotFound, match="no segment 'pro_plna'"):
        compute_segments(store, source, ["pro_plna"])


def test_rules_read_computed_traits_written_back(tmp_path: Path) -> None:
    from tailored.store.traits import write_traits

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        assert not Ingestor(store).ingest_events(EVENTS).rejected
        ann, bob = store.find_profile("ann"), store.find_profile("bob")
        write_traits(store, {ann: {"churn_risk": 0.2, "rfm_group": "Champions"},
                             bob: {"churn_risk": 0.9, "rfm_group": "Lost"}})
        export_snapshot(store, tmp_path / "snap")
        define_segment(store, "save_them", {"all": [{"trait": "churn_risk", ">=": 0.5},
                                                    {"trait": "rfm_group", "!=": "Champions"}]})
        with opened(tmp_path / "snap") as source:
            (result,) = compute_segments(store, source, ["save_them"])
        assert result["size"] == 1
        assert current_members(store, "save_them") == [bob]
        assert check_person(store, "save_them", "bob", record=False)["member"] is True
    finally:
        store.close()
