"""Erasure through a running app: caches dropped, ambiguous e-mails refused, the answer's shape."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store

TS = "2026-01-01T10:00:00Z"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def event(kind: str = "track", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "timestamp": TS, "messageId": f"m-{uuid.uuid4().hex}"}
    if kind == "track":
        body.update(event="Product Viewed", properties={"product_id": "p1"})
    body.update(fields)
    return body


@pytest.fixture
def client(store: Store, store_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=store_url), store=store)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(store: Store) -> dict[str, str]:
    return {scope: store.create_key(scope) for scope in ("ingest", "read", "admin")}


def test_erased_person_comes_back_as_a_fresh_profile(client: TestClient,
                                                     keys: dict[str, str]) -> None:
    write, read, admin = basic(keys["ingest"]), bearer(keys["read"]), bearer(keys["admin"])
    for body in (event("identify", userId="x", anonymousId="ax", traits={"email": "x@ex.io"}),
                 event(userId="x"), event(anonymousId="ax")):
        assert client.post(f"/v1/{body['type']}", json=body, headers=write).status_code == 200
    before = client.get("/v1/profiles/x", headers=read).json()["profile_id"]
    assert client.delete("/v1/profiles/x", headers=admin).status_code == 200
    # The server's ingestor cached x's identity nodes; the erase must make it drop them.
    assert client.post("/v1/track", json=event(userId="x"), headers=write).status_code == 200
    r = client.get("/v1/profiles/x", headers=read)
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["profile_id"] != before
    assert fresh["event_count"] == 1
    assert client.post("/v1/page", json=event("page", anonymousId="ax"),
                       headers=write).status_code == 200
    r = client.delete("/v1/profiles/x", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["profile_id"] == fresh["profile_id"]
    assert client.get("/v1/profiles/x", headers=read).status_code == 404
    assert client.get("/v1/profiles/ax", headers=read).status_code == 200


def test_erase_ambiguous_email_answers_409_listing_everyone(client: TestClient, store: Store,
                                                           keys: dict[str, str]) -> None:
    write, admin = basic(keys["ingest"]), bearer(keys["admin"])
    batch = [event("identify", userId="ann", traits={"email": "ann@example.com"}),
             event("identify", userId="mallory", traits={"email": "Ann@Example.com"},
                   timestamp="2026-01-02T10:00:00Z")]
    assert client.post("/v1/batch", json={"batch": batch}, headers=write).status_code == 200
    ann, mallory = store.find_profile("ann"), store.find_profile("mallory")
    r = client.delete("/v1/profiles/ann@example.com", headers=admin)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "AmbiguousPerson" and "all_matches=true" in body["message"]
    assert {(m["profile_id"], m["matched_by"]) for m in body["matches"]} == {
        (ann, "email"), (mallory, "email")}
    assert store.stats()["profiles"] == 2
    r = client.delete("/v1/profiles/ann@example.com", params={"all_matches": "true"},
                      headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"profile_id", "matched_by", "rows", "erased"}
    assert body["matched_by"] == "email" and body["rows"]["profiles"] == 2
    assert {e["profile_id"] for e in body["erased"]} == {ann, mallory}
    assert all(set(e) == {"profile_id", "rows"} for e in body["erased"])
    assert store.stats()["profiles"] == 0


def test_get_profile_names_the_kind_of_id(client: TestClient, keys: dict[str, str]) -> None:
    body = event("identify", userId="u", anonymousId="a", traits={"email": "u@x.io"})
    client.post("/v1/identify", json=body, headers=basic(keys["ingest"]))
    for name, kind in (("u", "user_id"), ("a", "anonymous_id"), ("U@X.io", "email")):
        r = client.get(f"/v1/profiles/{name}", headers=bearer(keys["read"]))
        assert r.json()["matched_by"] == kind
