"""Customer features: exact values on a hand-made store, the same on DuckDB and PostgreSQL,
and nothing at or after ``as_of`` leaks in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tailored.analytics import category_shares, customer_features, opened, price_profile
from tailored.catalog import Item
from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.snapshots import export_snapshot

DAY0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def at(days: float) -> str:
    return (DAY0 + timedelta(days=days)).isoformat()


def track(user: str, event: str, days: float, n: int, **props: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, "timestamp": at(days),
            "messageId": f"{user}-{n}", "properties": props}


def order(user: str, days: float, n: int, lines: list[tuple[str, float, float]]
          ) -> dict[str, Any]:
    products = [{"product_id": sku, "quantity": q, "price": p} for sku, q, p in lines]
    return track(user, "Order Completed", days, n, order_id=f"o-{user}-{n}", products=products)


BASE_EVENTS = [
    track("ann", "Product Viewed", 1, 1, product_id="sku1"),
    track("ann", "Product Added", 1.01, 2, product_id="sku1", price=10),
    order("ann", 2, 3, [("sku1", 2, 10.0), ("sku2", 1, 5.0)]),
    order("ann", 5, 4, [("sku3", 1, 20.0)]),
    track("bob", "Product Viewed", 3, 1, product_id="sku2"),
    track("bob", "Product Viewed", 10, 2, product_id="sku3"),
    {"type": "identify", "userId": "cat", "timestamp": at(4), "messageId": "cat-1",
     "traits": {"plan": "pro"}},
]
ITEMS = [Item(item_id="sku1", title="Pan", category=["Home", "Kitchen"], price=10),
         Item(item_id="sku2", title="Book", category=["Books"], price=5, tags=["sale"]),
         Item(item_id="sku3", title="Tent", category=["Outdoor", "Camping"], price=20),
         Item(item_id="sku4", title="Pot", category=["Home", "Kitchen"], price=30)]


def build_snapshot(tmp_path: Path, name: str, events: list[dict[str, Any]]) -> Path:
    store = Store.open(f"sqlite:///{tmp_path / name}.db")
    try:
        store.upsert_items(ITEMS)
        report = Ingestor(store).ingest_events(events)
        assert not report.rejected, report.rejected
        export_snapshot(store, tmp_path / name)
    finally:
        store.close()
    return tmp_path / name


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_url")
    return "duckdb", None


def features_of(folder: Path, backend: tuple[str, str | None], *, schema: str = "c2_features",
                **kwargs: Any) -> pd.DataFrame:
    name, url = backend
    with opened(folder, name, url=url, schema=schema) as source:
        user_of = source.profiles.select("profile_id", "user_id").execute()
        df = customer_features(source, **kwargs).execute()
    df = df.merge(user_of, on="profile_id")
    return df.set_index("user_id").sort_index()


def test_features_count_orders_lines_days_and_activity(tmp_path: Path,
                                                        backend: tuple[str, str | None]) -> None:
    df = features_of(build_snapshot(tmp_path, "snap", BASE_EVENTS), backend)
    assert list(df.index) == ["ann", "bob"]  # cat has no interaction
    ann, bob = df.loc["ann"], df.loc["bob"]
    assert (ann.orders, ann.purchase_days, ann.revenue) == (2, 2, 45.0)
    assert ann.avg_order_value == pytest.approx(22.5)
    assert (ann.views, ann.carts, ann.distinct_items, ann.events, ann.active_days) == (
        1, 1, 3, 4, 3)
    # The default as_of is the latest event (bob's, day 10): everything counts.
    assert ann.recency_days == pytest.approx(5.0)
    assert ann.order_recency_days == pytest.approx(5.0)
    assert ann.tenure_days == pytest.approx(9.0)
    assert ann.first_order == pd.Timestamp(at(2))
    assert (bob.orders, bob.revenue, bob.avg_order_value, bob.views) == (0, 0.0, 0.0, 2)
    assert bob.recency_days == pytest.approx(0.0)
    assert pd.isna(bob.order_recency_days) and pd.isna(bob.last_order)


def test_events_at_or_after_as_of_change_nothing(tmp_path: Path,
                                                  backend: tuple[str, str | None]) -> None:
    cut = DAY0 + timedelta(days=5)  # ann's second order is exactly at the cut
    later = [
        track("ann", "Product Viewed", 6, 5, product_id="sku2"),
        order("ann", 7, 6, [("sku2", 3, 5.0)]),
        track("bob", "Product Added", 8, 3, product_id="sku1"),
        order("dan", 9, 1, [("sku1", 1, 10.0)]),  # a new person, only after the cut
    ]
    plain = build_snapshot(tmp_path, "plain", BASE_EVENTS)
    more = build_snapshot(tmp_path, "more", BASE_EVENTS + later)
    first = features_of(plain, backend, schema="c2_plain", as_of=cut)
    second = features_of(more, backend, schema="c2_more", as_of=cut)
    pd.testing.assert_frame_equal(first.drop(columns="profile_id"),
                                  second.drop(columns="profile_id"))
    ann = first.loc["ann"]
    assert (ann.orders, ann.revenue, ann.events) == (1, 25.0, 3)
    assert ann.recency_days == pytest.approx(3.0)
    assert list(first.index) == ["ann", "bob"]


def test_category_shares_sum_to_one(tmp_path: Path, backend: tuple[str, str | None]) -> None:
    folder = build_snapshot(tmp_path, "snap", BASE_EVENTS)
    name, url = backend
    with opened(folder, name, url=url, schema="c2_shares") as source:
        users = source.profiles.select("profile_id", "user_id").execute()
        df = category_shares(source).execute().merge(users, on="profile_id")
    df = df.set_index("user_id")
    assert sorted(c for c in df.columns if c.startswith("share_")) == [
        "share_books", "share_home", "share_outdoor"]
    # ann: view, cart, 2 lines of sku1/sku2 and one of sku3 → home 3/5, books 1/5, outdoor 1/5
    assert df.loc["ann", "share_home"] == pytest.approx(0.6)
    assert df.loc["bob", "share_outdoor"] == pytest.approx(0.5)
    shares = df[[c for c in df.columns if c.startswith("share_")]]
    assert shares.sum(axis=1).to_numpy() == pytest.approx([1.0, 1.0])


def test_price_profile_compares_with_the_category_median(
        tmp_path: Path, backend: tuple[str, str | None]) -> None:
    folder = build_snapshot(tmp_path, "snap", BASE_EVENTS)
    name, url = backend
    with opened(folder, name, url=url, schema="c2_prices") as source:
        users = source.profiles.select("profile_id", "user_id").execute()
        df = price_profile(source).execute().merge(users, on="profile_id")
    df = df.set_index("user_id").sort_index()
    # Home's median is 20 (10 and 30): ann's three sku1 rows are at 0.5, her Books and
    # Outdoor lines at 1 → (1.5 + 2) / 5; one of her five rows is the sale book.
    assert df.loc["ann", "price_index"] == pytest.approx(0.7)
    assert df.loc["ann", "sale_share"] == pytest.approx(0.2)
    assert (df.loc["bob", "price_index"], df.loc["bob", "sale_share"]) == (1.0, 0.5)


def test_naive_as_of_is_refused(tmp_path: Path) -> None:
    folder = build_snapshot(tmp_path, "snap", BASE_EVENTS)
    with opened(folder) as source, pytest.raises(InvalidInput, match="timezone") as err:
        customer_features(source, as_of=datetime(2026, 6, 5))
    assert err.value.field == "as_of"


def test_empty_snapshot_gives_no_rows(tmp_path: Path) -> None:
    folder = build_snapshot(tmp_path, "empty", [])
    with opened(folder) as source:
        assert customer_features(source).execute().empty
