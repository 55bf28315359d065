"""Subscriptions: callbacks for matching events and for segment entries and exits, with the
live profile at hand, run by the worker as the ``subscriptions`` consumer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tailored.ingest import Ingestor
from tailored.realtime import subscriptions
from tailored.realtime.subscriptions import Notice
from tailored.realtime.worker import Worker
from tailored.segments import define_segment
from tailored.segments.live import set_live
from tailored.store import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    yield
    # Keep the process's subscriptions as they were (the webhooks' stays installed).
    for sub in list(subscriptions.subscriptions._subs.values()):
        if sub.description != "webhooks":
            subscriptions.unsubscribe(sub)


def track(user: str, name: str, n: int, **props: Any) -> dict[str, Any]:
    return {"type": "track", "event": name, "userId": user, "messageId": f"{user}-{n}",
            "timestamp": T0.isoformat(), "properties": props}


def test_on_event_gets_ids_name_properties_and_the_live_profile(store: Store) -> None:
    seen: list[tuple[Notice, dict[str, Any] | None]] = []
    subscriptions.on_event("Order Completed", lambda n: seen.append((n, n.profile)))
    Ingestor(store).ingest_events([
        {"type": "identify", "userId": "ann", "messageId": "i1",
         "traits": {"email": "ann@example.com"}, "timestamp": T0.isoformat()},
        track("ann", "Product Viewed", 1, product_id="p1"),
        track("ann", "Order Completed", 2, revenue=30, order_id="o1")], received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    assert len(seen) == 1
    notice, profile = seen[0]
    assert notice.name == "Order Completed" and notice.properties["revenue"] == 30
    assert notice.profile_id == store.find_profile("ann") and notice.message_id == "ann-2"
    assert notice.event_id > 0 and notice.segment is None
    # The live profile has counted the event already (the consumer runs after it).
    assert profile is not None and profile["orders"] == 1 and profile["revenue"] == 30.0
    assert "ann@example.com" not in str(notice.to_dict())


def test_names_lists_and_tests_match_and_unsubscribe_stops_calls(store: Store) -> None:
    names: list[str] = []
    subscriptions.on_event(["Product Viewed", "identify"], lambda n: names.append(n.name))
    big: list[int] = []
    sub = subscriptions.on_event(lambda n: n.properties.get("revenue", 0) > 100,
                                 lambda n: big.append(n.event_id))
    Ingestor(store).ingest_events([
        {"type": "identify", "userId": "bo", "messageId": "i1", "timestamp": T0.isoformat()},
        track("bo", "Product Viewed", 1, product_id="p1"),
        track("bo", "Order Completed", 2, revenue=500),
        track("bo", "Order Completed", 3, revenue=5)], received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    assert sorted(names) == ["Product Viewed", "identify"] and len(big) == 1
    assert subscriptions.unsubscribe(sub) and not subscriptions.unsubscribe(sub)
    Ingestor(store).ingest_events([track("bo", "Order Completed", 4, revenue=900)],
                                  received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    assert len(big) == 1


def test_on_segment_hears_entries_and_exits_of_that_segment_only(store: Store) -> None:
    define_segment(store, "vip", {"event": "Order Completed", "count": {">=": 2}})
    set_live(store, "vip", True, now=T0)
    define_segment(store, "buyers", {"event": "Order Completed"})
    set_live(store, "buyers", True, now=T0)
    entered: list[tuple[str | None, int]] = []
    subscriptions.on_segment("vip", lambda n: entered.append(
        (n.segment, (n.profile or {}).get("orders", -1))))
    exits: list[str | None] = []
    subscriptions.on_segment("vip", lambda n: exits.append(n.segment), entered=False)
    Ingestor(store).ingest_events([track("cy", "Order Completed", 1, revenue=1)],
                                  received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    assert entered == []  # buyers entered, not vip
    Ingestor(store).ingest_events([track("cy", "Order Completed", 2, revenue=1)],
                                  received_at=T0)
    report = Worker(store, clock=lambda: T0).run_once()
    assert report["segments_entered"] == 1
    assert entered == [("vip", 2)] and exits == []


def test_a_failing_callback_is_retried_then_parked_and_the_stream_goes_on(
        store: Store) -> None:
    calls: list[str] = []

    def flaky(n: Notice) -> None:
        calls.append(n.message_id)
        if n.message_id == "dee-1":
            raise RuntimeError("receiver exploded")

    subscriptions.on_event("Order Completed", flaky)
    Ingestor(store).ingest_events([track("dee", "Order Completed", 1),
                                   track("dee", "Order Completed", 2)], received_at=T0)
    worker = Worker(store, clock=lambda: T0, backoff_seconds=0.001)
    worker.run_once()
    assert calls.count("dee-1") >= worker.retries and "dee-2" in calls
    status = worker.status()
    parked = [p for p in status["parked"] if p["consumer"] == "subscriptions"]
    assert len(parked) == 1 and parked[0]["message_id"] == "dee-1"
    assert "receiver exploded" in parked[0]["error"]
    sub = next(c for c in status["consumers"] if c["consumer"] == "subscriptions")
    assert sub["pending_events"] == 0
