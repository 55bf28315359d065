"""A running server keeps live profiles itself: POST /v1/track, then GET /v1/profiles/{id}."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store
from tests.realtime.helpers import live_vs_recount


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def served(store_url: str) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    with Store.open(store_url) as store:
        keys = {s: store.create_key(s) for s in ("ingest", "read", "admin")}
        with TestClient(create_app(Settings(database_url=store_url), store=store)) as client:
            yield client, store, keys


def _live(client: TestClient, read: str, person: str, want: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body = client.get(f"/v1/profiles/{person}",
                          headers={"Authorization": f"Bearer {read}"}).json()
        if body.get("live") and body["live"]["event_count"] >= want:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


def test_track_then_profile_shows_the_live_counters(
        served: tuple[TestClient, Store, dict[str, str]]) -> None:
    client, store, keys = served
    write = _basic(keys["ingest"])
    for i, (name, props) in enumerate([
            ("Product Added", {"product_id": "shoe", "price": 50}),
            ("Product Added", {"product_id": "sock", "price": 5}),
            ("Product Removed", {"product_id": "sock"}),
            ("Order Completed", {"total": 50, "products": [{"product_id": "shoe"}]})]):
        r = client.post("/v1/track", headers=write, json={
            "userId": "liv", "event": name, "properties": props, "messageId": f"l{i}",
            "timestamp": f"2026-11-03T10:0{i}:00Z"})
        assert r.status_code == 200
    body = _live(client, keys["read"], "liv", 4)
    assert body["live"]["orders"] == 1 and body["live"]["revenue"] == 50.0
    assert body["live"]["cart"] == [] and body["live"]["items_carted"] == 2
    assert body["segments"] == [] and "identities" in body  # every existing key kept
    # A late event (earlier than all) makes the person be recounted.
    assert client.post("/v1/track", headers=write, json={
        "userId": "liv", "event": "Product Viewed", "properties": {"product_id": "hat"},
        "messageId": "early", "timestamp": "2026-11-01T00:00:00Z"}).status_code == 200
    body = _live(client, keys["read"], "liv", 5)
    assert body["live"]["first_seen"].startswith("2026-11-01") and body["live"]["sessions"] == 2
    live, recounted = live_vs_recount(store)
    assert live == recounted


def test_erasure_removes_the_live_row(served: tuple[TestClient, Store, dict[str, str]]) -> None:
    client, store, keys = served
    client.post("/v1/track", headers=_basic(keys["ingest"]), json={
        "userId": "gone", "event": "Product Viewed", "properties": {"product_id": "x"}})
    _live(client, keys["read"], "gone", 1)
    r = client.delete("/v1/profiles/gone", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert r.status_code == 200 and r.json()["rows"]["live_profiles"] == 1
    live, _ = live_vs_recount(store)
    assert live == {}
    assert client.get("/v1/profiles/gone", headers={
        "Authorization": f"Bearer {keys['read']}"}).status_code == 404


def test_a_real_serve_process_counts_what_it_takes(serve: Any) -> None:
    served = serve()
    with Store.open(served.db) as store:
        key, read = store.create_key("ingest"), store.create_key("read")
    r = httpx.post(f"{served.url}/v1/batch", auth=(key, ""), json={"batch": [
        {"type": "track", "userId": "p1", "event": "Product Viewed", "messageId": f"b{i}",
         "properties": {"product_id": f"i{i}"}} for i in range(20)]})
    assert r.status_code == 200
    deadline = time.monotonic() + 10
    while True:
        body = httpx.get(f"{served.url}/v1/profiles/p1",
                         headers={"Authorization": f"Bearer {read}"}).json()
        if body["live"] and body["live"]["event_count"] == 20:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    assert body["live"]["items_viewed"] == 20
