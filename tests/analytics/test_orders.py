"""An order is an Order Completed event, with or without products: worth its revenue, total
or value, else the sum of its lines; every customer measure reads orders that way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tailored.analytics import customer_features, opened, orders, people, repeat_purchases
from tailored.events import order_value
from tailored.ingest import Ingestor
from tailored.segments.person_data import load_person
from tailored.segments.rfm import compute_rfm
from tailored.store import Store
from tailored.store.snapshots import export_snapshot

T = "2026-03-0{}T10:00:00Z"


def _order(user: str, n: int, day: int, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": user,
            "messageId": f"{user}-{n}", "timestamp": T.format(day), "properties": properties}


EVENTS = [
    # Server-side feeds: no products at all.
    _order("ann", 1, 1, order_id="1", revenue=40.0),
    _order("ann", 2, 3, order_id="2", total=25.5),
    _order("ann", 3, 5, order_id="3", value="12.50"),  # a numeric string counts
    # Revenue is the order's value even beside product lines worth more.
    _order("bob", 1, 2, order_id="4", revenue=30.0,
           products=[{"product_id": "p1", "quantity": 2, "price": 20.0}]),
    # Lines alone: their sum.
    _order("bob", 2, 4, order_id="5",
           products=[{"product_id": "p1", "quantity": 1, "price": 20.0},
                     {"product_id": "p2", "quantity": 3, "price": 5.0}]),
    # Nothing said of its worth: an order worth nothing known.
    _order("cid", 1, 6, order_id="6", revenue="n/a"),
    # Not orders.
    {"type": "track", "event": "Product Viewed", "userId": "cid", "messageId": "cid-v",
     "timestamp": T.format(2), "properties": {"product_id": "p1", "price": 20.0}},
    {"type": "track", "event": "Checkout Started", "userId": "cid", "messageId": "cid-c",
     "timestamp": T.format(3), "properties": {"revenue": 99.0}},
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("orders")
    url = f"sqlite:///{folder / 's.db'}"
    with Store.open(url) as store:
        report = Ingestor(store).ingest_events(EVENTS)
        assert not report.rejected, report.rejected
        export_snapshot(store, folder / "snap")
    return url, folder / "snap"


def _by_user(source: Any, frame: Any) -> dict[str, Any]:
    users = dict(source.profiles.select("profile_id", "user_id").execute().values)
    return {users[p]: row for p, row in zip(frame["profile_id"], frame.to_dict("records"),
                                             strict=True)}


def test_order_value_reads_revenue_then_total_then_value_then_lines() -> None:
    assert order_value({"revenue": 10, "total": 12, "value": 14}, [99.0]) == 10.0
    assert order_value({"total": "12.5", "value": 14}) == 12.5
    assert order_value({"value": 14, "revenue": "lots"}) == 14.0
    assert order_value({"revenue": True}, [5.0, None, 2.5]) == 7.5
    assert order_value({}, [None]) is None


def test_orders_with_and_without_products(shop: tuple[str, Path]) -> None:
    with opened(shop[1]) as source:
        frame = orders(source).order_by("message_id").execute()
        by_id = dict(zip(frame["message_id"], frame["value"], strict=True))
    assert set(by_id) == {"ann-1", "ann-2", "ann-3", "bob-1", "bob-2", "cid-1"}
    assert by_id["ann-1"] == 40.0 and by_id["ann-2"] == 25.5 and by_id["ann-3"] == 12.5
    assert by_id["bob-1"] == 30.0 and by_id["bob-2"] == 35.0
    assert by_id["cid-1"] != by_id["cid-1"]  # NaN: unknown worth


def test_customer_measures_count_orders_without_products(shop: tuple[str, Path]) -> None:
    with opened(shop[1]) as source:
        features = _by_user(source, customer_features(source).execute())
        rows = _by_user(source, people(source).execute())
        repeat = repeat_purchases(source).execute().iloc[0]
        rfm = compute_rfm(source).customers
    assert features["ann"]["orders"] == 3 and features["ann"]["revenue"] == 78.0
    assert features["ann"]["purchase_days"] == 3
    assert features["bob"]["orders"] == 2 and features["bob"]["revenue"] == 65.0
    assert features["cid"]["orders"] == 1 and features["cid"]["revenue"] == 0.0
    assert (rows["ann"]["orders"], rows["ann"]["revenue"]) == (3, 78.0)
    assert rows["ann"]["purchases"] == 0  # no product lines
    assert repeat["buyers"] == 3 and repeat["repeat_buyers"] == 2
    assert len(rfm) == 3 and sorted(rfm["frequency"]) == [1, 2, 3]


def test_one_person_metrics_agree_with_the_batch(shop: tuple[str, Path]) -> None:
    url, folder = shop
    with opened(folder) as source:
        features = _by_user(source, customer_features(source).execute())
    as_of = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    with Store.open(url) as store:
        for user in ("ann", "bob", "cid"):
            _, view = load_person(store, user, as_of=as_of, inclusive=True)
            for metric in ("orders", "purchase_days", "revenue", "avg_order_value"):
                assert view.metrics[metric] == pytest.approx(features[user][metric]), (
                    user, metric)


def test_snapshots_from_before_order_values_give_the_same_orders(
        shop: tuple[str, Path], tmp_path: Path) -> None:
    """A snapshot whose events lack ``order_value`` (written before it existed, in the
    single-file layout) is read from the events' JSON, with the same values."""
    import json

    import pyarrow.parquet as pq

    from tailored.store.snapshot_files import read_snapshot_table

    new = shop[1]
    old = tmp_path / "old"
    old.mkdir()
    for name in ("events", "interactions", "profiles", "identities"):
        table = read_snapshot_table(new, name)
        if name == "events":
            assert "order_value" in table.column_names
            table = table.drop_columns(["order_value"])
        pq.write_table(table, old / f"{name}.parquet")
    (old / "manifest.json").write_text(json.dumps({"version": 1}))
    frames = []
    for folder in (new, old):
        with opened(folder) as source:
            assert ("order_value" in source.events.columns) == (folder == new)
            frames.append(orders(source).order_by("message_id").execute())
    assert frames[0]["message_id"].tolist() == frames[1]["message_id"].tolist()
    assert frames[0]["value"].fillna(-1).tolist() == frames[1]["value"].fillna(-1).tolist()
