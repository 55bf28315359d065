"""Outgoing webhooks against a real HTTP receiver that checks the signature: delivered at
least once with one delivery id, retried with back-off, parked, never carrying traits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tailored.errors import InvalidInput, NotFound
from tailored.ingest import Ingestor
from tailored.realtime import webhooks
from tailored.realtime.webhooks import DeliveryPolicy, add_webhook, deliver_due, list_webhooks
from tailored.realtime.webhooks.outbox import claim
from tailored.realtime.worker import Worker
from tailored.segments import define_segment
from tailored.segments.live import set_live
from tailored.store import Store
from tailored.store.tables import webhook_deliveries
from tests.api.conftest import Served, serve
from tests.realtime.receiver import Receiver

__all__ = ["serve"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(autouse=True)
def fast_policy() -> Iterator[None]:
    webhooks.configure(DeliveryPolicy(timeout_seconds=0.5, max_attempts=3,
                                      backoff_seconds=0.01))
    yield
    webhooks.configure(DeliveryPolicy())


def track(user: str, name: str, n: int, **props: Any) -> dict[str, Any]:
    return {"type": "track", "event": name, "userId": user, "messageId": f"{user}-{n}",
            "timestamp": T0.isoformat(), "properties": props}


def deliveries(store: Store) -> list[Any]:
    with store.reading() as conn:
        return list(conn.execute(sa.select(webhook_deliveries)
                                 .order_by(webhook_deliveries.c.event_id)).all())


def test_an_order_is_posted_signed_with_ids_and_the_event_not_traits(
        store: Store, receiver: Receiver) -> None:
    hook = add_webhook(store, receiver.url, "Order Completed")
    receiver.secret = hook["secret"]
    assert hook["secret"].startswith("whsec_") and hook["id"].startswith("wh_")
    Ingestor(store).ingest_events([
        {"type": "identify", "userId": "ann", "messageId": "i1", "timestamp": T0.isoformat(),
         "traits": {"email": "ann@example.com", "name": "Ann Example"}},
        track("ann", "Product Viewed", 1, product_id="p1"),
        track("ann", "Order Completed", 2, revenue=30, order_id="o1")], received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    (got,) = receiver.wait_for(1)
    assert got.verified, got.signature
    assert got.signature.startswith("t=") and ",v1=" in got.signature
    doc = got.doc
    assert got.delivery == doc["delivery_id"] and doc["webhook_id"] == hook["id"]
    assert doc["event"]["name"] == "Order Completed" and doc["event"]["properties"] == {
        "revenue": 30, "order_id": "o1"}
    assert doc["event"]["profile_id"] == store.find_profile("ann")
    assert doc["event"]["message_id"] == "ann-2" and doc["event"]["timestamp"]
    assert "ann@example.com" not in got.body.decode() and "Ann Example" not in got.body.decode()
    (listed,) = list_webhooks(store)
    assert listed["delivered"] == 1 and listed["pending"] == 0 and "secret" not in listed
    # The secret is kept to sign with, never shown again.
    assert hook["secret"] not in json.dumps(list_webhooks(store))
    # Handled again (a redelivered batch): nothing is queued twice.
    Worker(store, clock=lambda: T0).run_once()
    assert len(deliveries(store)) == 1 and len(receiver.received) == 1


def test_a_500_is_retried_with_the_same_delivery_id_until_taken(
        store: Store, receiver: Receiver) -> None:
    receiver.secret = add_webhook(store, receiver.url, "Order Completed")["secret"]
    receiver.answers = [500, 503]
    Ingestor(store).ingest_events([track("bo", "Order Completed", 1)], received_at=T0)
    Worker(store, clock=lambda: T0).run_once()  # first try, inline: 500
    deadline = time.monotonic() + 5
    while deliveries(store)[0].status != "delivered":
        assert time.monotonic() < deadline, deliveries(store)
        deliver_due(store)
        time.sleep(0.02)
    got = receiver.received
    assert len(got) == 3 and len({r.delivery for r in got}) == 1
    assert all(r.verified for r in got) and len({r.body for r in got}) == 1
    (row,) = deliveries(store)
    assert row.attempts == 3 and row.last_error is None


def test_a_receiver_that_times_out_is_retried_then_parked_and_listed(
        store: Store, receiver: Receiver) -> None:
    receiver.secret = add_webhook(store, receiver.url, "Order Completed")["secret"]
    receiver.answers = ["sleep", "sleep", "sleep"]
    receiver.sleep_seconds = 1.5
    Ingestor(store).ingest_events([track("cy", "Order Completed", 1),
                                   track("cy", "Product Viewed", 2, product_id="p")],
                                  received_at=T0)
    report = Worker(store, clock=lambda: T0).run_once()
    assert report["events"] == 2  # the stream went on
    deadline = time.monotonic() + 10
    while deliveries(store)[0].status == "pending":
        assert time.monotonic() < deadline
        deliver_due(store)
        time.sleep(0.02)
    (row,) = deliveries(store)
    assert row.status == "parked" and row.attempts == 3
    (listed,) = list_webhooks(store)
    assert listed["parked"] == 1 and "timed out" in listed["last_error"]
    assert deliver_due(store) == {"sent": 0, "failed": 0, "parked": 0}


def test_a_delivery_held_by_a_crashed_sender_is_sent_again_with_its_id(
        store: Store, receiver: Receiver) -> None:
    # The receiver is down when the event is queued: the outbox keeps it.
    url = receiver.url
    receiver.close()
    secret = add_webhook(store, url, "Order Completed")["secret"]
    Ingestor(store).ingest_events([track("di", "Order Completed", 1)], received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    (row,) = deliveries(store)
    assert row.status == "pending" and "cannot connect" in row.last_error
    # A sender claims it and dies before recording anything.
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert claim(store, row.id, later, timedelta(seconds=60))
    assert deliver_due(store, later) == {"sent": 0, "failed": 0, "parked": 0}
    back = Receiver(secret=secret)
    try:
        with store.transaction() as conn:  # the receiver came back on another port
            conn.execute(sa.text("UPDATE webhooks SET url = :u"), {"u": back.url})
        counts = deliver_due(store, later + timedelta(seconds=61))  # the lease ran out
        assert counts["sent"] == 1
        (got,) = back.received
        assert got.delivery == row.id and got.verified
    finally:
        back.close()


def test_segment_entered_webhook_for_one_segment(store: Store, receiver: Receiver) -> None:
    define_segment(store, "vip", {"event": "Order Completed", "count": {">=": 2}})
    set_live(store, "vip", True, now=T0)
    define_segment(store, "buyers", {"event": "Order Completed"})
    set_live(store, "buyers", True, now=T0)
    receiver.secret = add_webhook(store, receiver.url, "Segment Entered", "vip")["secret"]
    Ingestor(store).ingest_events([track("ed", "Order Completed", 1),
                                   track("ed", "Order Completed", 2)], received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    (got,) = receiver.wait_for(1)
    assert got.verified and got.doc["segment"] == "vip"
    assert got.doc["event"]["name"] == "Segment Entered"
    assert got.doc["event"]["properties"] == {"segment": "vip"}


def test_bad_webhooks_are_refused_naming_the_field(store: Store) -> None:
    for url in ("ftp://example.com/x", "example.com/hook", "http://", "javascript:alert(1)"):
        with pytest.raises(InvalidInput) as err:
            add_webhook(store, url, "Order Completed")
        assert err.value.field == "url"
    with pytest.raises(InvalidInput) as err:
        add_webhook(store, "https://example.com/h", "Order Completed", "vip")
    assert err.value.field == "segment"
    with pytest.raises(InvalidInput) as err:
        add_webhook(store, "https://example.com/h", " ")
    assert err.value.field == "on"
    with pytest.raises(NotFound):
        webhooks.remove_webhook(store, "wh_nope")


def test_a_new_webhook_is_not_sent_old_events_and_a_removed_one_nothing(
        store: Store, receiver: Receiver) -> None:
    Ingestor(store).ingest_events([track("fy", "Order Completed", 1)], received_at=T0)
    hook = add_webhook(store, receiver.url, "Order Completed")
    Worker(store, clock=lambda: T0).run_once()
    assert receiver.received == [] and deliveries(store) == []
    webhooks.remove_webhook(store, hook["id"])
    Ingestor(store).ingest_events([track("fy", "Order Completed", 2)], received_at=T0)
    Worker(store, clock=lambda: T0).run_once()
    assert receiver.received == [] and list_webhooks(store) == []


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TAILORED_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "tailored", "--db", db, *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_webhook_commands_and_a_running_server_deliver(
        tmp_path: Path, serve: Callable[..., Served], receiver: Receiver) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    bad = _cli(db, "webhook", "add", "ftp://example.com/x", "--on", "Order Completed",
               "--json")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines()[-1].startswith("error: url:")
    added = _cli(db, "webhook", "add", receiver.url, "--on", "Order Completed", "--json")
    assert added.returncode == 0, added.stderr
    hook = json.loads(added.stdout)
    receiver.secret = hook["secret"]
    with Store.open(db) as store:
        write = store.create_key("ingest")
    server = serve()
    r = httpx.post(f"{server.url}/v1/track", json=track("gu", "Order Completed", 1, total=9),
                   headers={"Authorization": f"Bearer {write}"}, timeout=10)
    assert r.status_code == 200
    started = time.perf_counter()
    (got,) = receiver.wait_for(1)
    assert got.verified and got.doc["event"]["properties"] == {"total": 9}
    assert time.perf_counter() - started < 5
    listed = json.loads(_cli(db, "webhook", "list", "--json").stdout)["webhooks"]
    assert listed[0]["id"] == hook["id"] and listed[0]["delivered"] == 1
    assert hook["secret"] not in json.dumps(listed)
    removed = _cli(db, "webhook", "remove", hook["id"], "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["removed"] is True
    again = _cli(db, "webhook", "remove", hook["id"])
    assert again.returncode == 1 and "no webhook" in again.stderr
    assert "Traceback" not in server.stop()
