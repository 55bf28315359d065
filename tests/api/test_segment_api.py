"""The HTTP API through FastAPI's TestClient, on SQLite and PostgreSQL.

Segment-compatible tracking (/v1/track, identify, page, screen, alias, group, batch), keys
and scopes, size limits, gzip, clock-skew correction, profiles, the catalog and the docs.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store
from tailored.store.tables import events

TS = "2026-01-01T10:00:00Z"


def basic(key: str) -> dict[str, str]:
    """The key as the Basic auth user, the way the Segment SDKs send the write key."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def track(user: str = "u1", event: str = "Product Viewed", **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "userId": user, "timestamp": TS,
            "messageId": f"m-{uuid.uuid4().hex}", "properties": {"product_id": "p1"}, **extra}


@pytest.fixture
def client(store: Store, store_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=store_url), store=store)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def key(store: Store) -> str:
    return store.create_key("ingest")


@pytest.fixture
def read_key(store: Store) -> str:
    return store.create_key("read")


@pytest.fixture
def admin_key(store: Store) -> str:
    return store.create_key("admin")


@pytest.fixture
def catalog_key(store: Store) -> str:
    return store.create_key("catalog")


# -- single calls --------------------------------------------------------------------------

SINGLE_CALLS = {
    "track": {"event": "Product Viewed", "userId": "u1", "properties": {"product_id": "p1"}},
    "identify": {"userId": "u1", "traits": {"email": "u1@example.com", "name": "Ann"}},
    "page": {"anonymousId": "a1", "name": "Home", "properties": {"path": "/"}},
    "screen": {"userId": "u1", "name": "Cart",
               "context": {"device": {"id": "d1", "type": "ios"}, "os": {"name": "iOS"}}},
    "alias": {"userId": "u1", "previousId": "a1"},
    "group": {"userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
}


@pytest.mark.parametrize("call", list(SINGLE_CALLS))
def test_single_call_lands(client: TestClient, store: Store, key: str, call: str) -> None:
    body = {"type": call, "timestamp": TS, "messageId": f"{call}-1", **SINGLE_CALLS[call]}
    r = client.post(f"/v1/{call}", json=body, headers=basic(key))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "accepted": 1, "duplicates": 0, "rejected": []}
    stats = store.stats()
    assert stats["events"] == 1
    assert stats["events_by_call"] == {call: 1}


@pytest.mark.parametrize("call", list(SINGLE_CALLS))
def test_single_call_without_type_takes_type_from_path(
    client: TestClient, store: Store, key: str, call: str
) -> None:
    body = {"timestamp": TS, "messageId": f"{call}-1", **SINGLE_CALLS[call]}
    r = client.post(f"/v1/{call}", json=body, headers=basic(key))
    assert r.status_code == 200, r.text
    assert store.stats()["events_by_call"] == {call: 1}


def test_track_with_mismatched_type_is_400_naming_type(
    client: TestClient, store: Store, key: str
) -> None:
    r = client.post("/v1/track", json={**track(), "type": "identify"}, headers=basic(key))
    assert r.status_code == 400
    assert r.json()["field"] == "type"
    assert "type" in r.json()["message"]
    assert store.stats()["events"] == 0


def test_track_without_user_or_anonymous_id_is_400(
    client: TestClient, store: Store, key: str
) -> None:
    body = track()
    del body["userId"]
    r = client.post("/v1/track", json=body, headers=basic(key))
    assert r.status_code == 400
    [rej] = r.json()["rejected"]
    assert rej["index"] == 0
    assert "userid" in (rej["field"] + rej["reason"]).lower()
    assert store.stats()["events"] == 0


def test_stats_endpoint_with_read_key_counts(
    client: TestClient, key: str, read_key: str
) -> None:
    client.post("/v1/track", json=track(), headers=basic(key))
    r = client.get("/v1/stats", headers=bearer(read_key))
    assert r.status_code == 200
    assert r.json()["events"] == 1
    assert r.json()["profiles"] == 1


# -- batches -------------------------------------------------------------------------------

def test_batch_with_mixed_events_stores_good_and_reports_bad(
    client: TestClient, store: Store, key: str
) -> None:
    bad_no_id = {"type": "track", "event": "Product Viewed", "messageId": "bad-1",
                 "timestamp": TS}
    bad_ts = track("u2", timestamp="yesterday at noon")
    bad_future = track("u3", timestamp="2999-01-01T00:00:00Z")
    bad_props = track("u4", properties="oops")
    batch = [track("u1"), bad_no_id, bad_ts, track("u5"), bad_future, bad_props, "not-an-event"]
    r = client.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert body["duplicates"] == 0
    rejected = {x["index"]: x for x in body["rejected"]}
    assert sorted(rejected) == [1, 2, 4, 5, 6]
    assert all(set(x) == {"index", "field", "reason"} for x in body["rejected"])
    for i, word in ((1, "userid"), (2, "timestamp"), (4, "timestamp"), (5, "properties")):
        text = (rejected[i]["field"] + " " + rejected[i]["reason"]).lower()
        assert word in text, rejected[i]
    stats = store.stats()
    assert stats["events"] == 2
    assert stats["profiles"] == 2


def test_batch_with_nothing_valid_is_400_with_detail_and_stores_nothing(
    client: TestClient, store: Store, key: str
) -> None:
    batch = [{"type": "track", "event": "E", "messageId": "x1"},
             track("u1", timestamp="not a time"), {"type": "nonsense", "userId": "u1"}]
    r = client.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False
    assert [x["index"] for x in body["rejected"]] == [0, 1, 2]
    assert all(x["field"] and x["reason"] for x in body["rejected"])
    assert store.stats()["events"] == 0
    assert store.stats()["profiles"] == 0


def test_batch_empty_or_not_a_list_is_400(client: TestClient, key: str) -> None:
    for body in ({"batch": []}, {"batch": "x"}, {"events": [track()]}, [track()]):
        r = client.post("/v1/batch", json=body, headers=basic(key))
        assert r.status_code == 400, body
        assert r.json()["field"] == "batch"


def test_batch_shared_context_and_sent_at_apply_to_events(
    client: TestClient, store: Store, key: str
) -> None:
    ev = track("u1", context={"os": {"name": "iOS"}})
    body = {"batch": [ev], "context": {"device": {"id": "dev-9", "type": "ios"}},
            "sentAt": TS}
    r = client.post("/v1/batch", json=body, headers=basic(key))
    assert r.status_code == 200, r.text
    profile = store.profile("dev-9")
    assert profile["event_count"] == 1
    assert [d["device_id"] for d in profile["devices"]] == ["dev-9"]


def test_duplicate_message_id_is_acknowledged_counted_and_stored_once(
    client: TestClient, store: Store, key: str
) -> None:
    ev = track("u1")
    first = client.post("/v1/track", json=ev, headers=basic(key))
    second = client.post("/v1/track", json=ev, headers=basic(key))
    assert first.status_code == second.status_code == 200
    assert first.json()["accepted"] == 1
    assert second.json() == {"success": True, "accepted": 0, "duplicates": 1, "rejected": []}
    batch = client.post("/v1/batch", json={"batch": [ev, ev, track("u2")]}, headers=basic(key))
    assert batch.status_code == 200
    assert batch.json()["accepted"] == 1
    assert batch.json()["duplicates"] == 2
    stats = store.stats()
    assert stats["events"] == 2
    assert stats["duplicates"] == 3


# -- size limits, encodings, malformed bodies ----------------------------------------------

def test_track_over_32kb_is_413(client: TestClient, store: Store, key: str) -> None:
    big = track(properties={"blob": "x" * (33 * 1024)})
    r = client.post("/v1/track", json=big, headers=basic(key))
    assert r.status_code == 413
    assert store.stats()["events"] == 0


def test_batch_with_event_over_32kb_rejects_it_by_index(
    client: TestClient, store: Store, key: str
) -> None:
    big = track("u2", properties={"blob": "x" * (33 * 1024)})
    r = client.post("/v1/batch", json={"batch": [track("u1"), big, track("u3")]},
                    headers=basic(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    [rej] = body["rejected"]
    assert rej["index"] == 1
    assert "KB" in rej["reason"]
    assert store.stats()["events"] == 2


def test_batch_of_only_oversized_events_is_413(client: TestClient, store: Store,
                                               key: str) -> None:
    big = track("u2", properties={"blob": "x" * (33 * 1024)})
    r = client.post("/v1/batch", json={"batch": [big]}, headers=basic(key))
    assert r.status_code == 413
    assert store.stats()["events"] == 0


def test_batch_over_500kb_is_413(client: TestClient, store: Store, key: str) -> None:
    batch = [track(f"u{i}", properties={"blob": "x" * (20 * 1024)}) for i in range(30)]
    r = client.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert r.status_code == 413
    assert store.stats()["events"] == 0


def test_gzip_body_is_accepted(client: TestClient, store: Store, key: str) -> None:
    data = gzip.compress(json.dumps({"batch": [track("u1"), track("u2")]}).encode())
    headers = {**basic(key), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    r = client.post("/v1/batch", content=data, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2
    single = gzip.compress(json.dumps(track("u3")).encode())
    r = client.post("/v1/track", content=single, headers=headers)
    assert r.status_code == 200, r.text
    assert store.stats()["events"] == 3


def test_gzip_body_inflating_over_the_limit_is_413(client: TestClient, store: Store,
                                                   key: str) -> None:
    batch = [track(f"u{i}", properties={"blob": "x" * (20 * 1024)}) for i in range(30)]
    data = gzip.compress(json.dumps({"batch": batch}).encode())
    assert len(data) < 50 * 1024
    headers = {**basic(key), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    r = client.post("/v1/batch", content=data, headers=headers)
    assert r.status_code == 413
    assert store.stats()["events"] == 0


def test_body_claiming_gzip_but_not_gzip_is_400(client: TestClient, key: str) -> None:
    headers = {**basic(key), "Content-Encoding": "gzip"}
    r = client.post("/v1/track", content=json.dumps(track()).encode(), headers=headers)
    assert r.status_code == 400
    assert r.json()["field"] == "body"


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_malformed_json_is_400(client: TestClient, store: Store, key: str, path: str) -> None:
    r = client.post(path, content=b'{"type":"track","event":', headers=basic(key))
    assert r.status_code == 400
    assert r.json()["field"] == "body"
    assert "json" in r.json()["message"].lower()
    assert store.stats()["events"] == 0


# -- keys and scopes -----------------------------------------------------------------------

def test_track_without_key_is_401(client: TestClient, store: Store) -> None:
    r = client.post("/v1/track", json=track())
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    assert store.stats()["events"] == 0


@pytest.mark.parametrize("headers", [basic("tk_wrong"), bearer("tk_wrong"),
                                     {"Authorization": "Digest abc"},
                                     {"Authorization": "Basic !!!not-base64"}])
def test_track_with_wrong_key_is_401(client: TestClient, store: Store, key: str,
                                     headers: dict[str, str]) -> None:
    r = client.post("/v1/track", json=track(), headers=headers)
    assert r.status_code == 401
    assert store.stats()["events"] == 0


def test_batch_with_wrong_write_key_in_body_is_401(client: TestClient, store: Store,
                                                   key: str) -> None:
    r = client.post("/v1/batch", json={"batch": [track()], "writeKey": "tk_wrong"})
    assert r.status_code == 401
    assert store.stats()["events"] == 0


def test_key_as_basic_bearer_or_write_key_all_work(
    client: TestClient, store: Store, key: str
) -> None:
    assert client.post("/v1/track", json=track(), headers=basic(key)).status_code == 200
    assert client.post("/v1/track", json=track(), headers=bearer(key)).status_code == 200
    r = client.post("/v1/track", json={**track(), "writeKey": key})
    assert r.status_code == 200, r.text
    r = client.post("/v1/batch", json={"batch": [track()], "writeKey": key})
    assert r.status_code == 200, r.text
    assert store.stats()["events"] == 4


def test_write_key_in_body_is_not_stored(client: TestClient, store: Store, key: str) -> None:
    ev = {**track(), "writeKey": key}
    assert client.post("/v1/track", json=ev).status_code == 200
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(events).where(events.c.message_id == ev["messageId"])).one()
    assert key not in json.dumps(row.extra) + json.dumps(row.context)


def test_revoked_key_is_401(client: TestClient, store: Store, key: str) -> None:
    assert store.revoke_key(key[:8]) == 1
    assert client.post("/v1/track", json=track(), headers=basic(key)).status_code == 401


def test_read_key_cannot_post_events(client: TestClient, store: Store, read_key: str) -> None:
    r = client.post("/v1/track", json=track(), headers=basic(read_key))
    assert r.status_code == 403
    r = client.post("/v1/batch", json={"batch": [track()]}, headers=bearer(read_key))
    assert r.status_code == 403
    assert store.stats()["events"] == 0


def test_ingest_key_cannot_read_profiles(client: TestClient, key: str) -> None:
    assert client.post("/v1/track", json=track("u1"), headers=basic(key)).status_code == 200
    assert client.get("/v1/profiles/u1", headers=bearer(key)).status_code == 403
    assert client.get("/v1/profiles/u1").status_code == 401
    assert client.get("/v1/stats", headers=basic(key)).status_code == 403


def test_admin_key_can_ingest_and_read(client: TestClient, admin_key: str) -> None:
    assert client.post("/v1/track", json=track("u1"), headers=basic(admin_key)).status_code == 200
    assert client.get("/v1/profiles/u1", headers=bearer(admin_key)).status_code == 200


# -- profiles ------------------------------------------------------------------------------

@pytest.fixture
def person(client: TestClient, key: str) -> dict[str, Any]:
    """One person: anonymous browsing on a phone, then an identify with an e-mail."""
    phone = {"device": {"id": "phone-1", "type": "ios"}, "os": {"name": "iOS"}}
    batch = [
        {"type": "screen", "name": "Home", "anonymousId": "anon-1", "context": phone,
         "timestamp": "2026-01-01T09:00:00Z", "messageId": "p-1"},
        {**track(anonymousId="anon-1", context=phone), "userId": None},
        {"type": "identify", "userId": "user-1", "anonymousId": "anon-1", "context": phone,
         "traits": {"email": "Ann@Example.com", "first_name": "Ann"},
         "timestamp": "2026-01-01T10:05:00Z", "messageId": "p-3"},
        {"type": "page", "userId": "user-1", "name": "Shoes",
         "context": {"userAgent": "Mozilla/5.0 (X11; Linux x86_64)"},
         "timestamp": "2026-01-02T10:00:00Z", "messageId": "p-4"},
    ]
    r = client.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 4, r.json()
    return {"events": 4}


@pytest.mark.parametrize("ident", ["user-1", "anon-1", "phone-1", "ann@example.com",
                                   "  ANN@example.COM "])
def test_get_profile_by_any_identity_returns_the_person(
    client: TestClient, read_key: str, person: dict[str, Any], ident: str
) -> None:
    r = client.get(f"/v1/profiles/{ident}", headers=bearer(read_key))
    assert r.status_code == 200, r.text
    data = r.json()
    for field in ("profile_id", "identities", "devices", "platforms", "traits", "event_count"):
        assert field in data
    assert data["event_count"] == 4
    kinds = {(i["kind"], i["value"]) for i in data["identities"]}
    assert {("user_id", "user-1"), ("anonymous_id", "anon-1"), ("device_id", "phone-1"),
            ("email", "ann@example.com")} <= kinds
    assert [d["device_id"] for d in data["devices"]] == ["phone-1"]
    assert "ios" in data["platforms"]
    assert data["traits"]["first_name"] == "Ann"
    again = client.get(f"/v1/profiles/{data['profile_id']}", headers=bearer(read_key))
    assert again.json()["profile_id"] == data["profile_id"]


def test_get_profile_with_merges_lists_them(
    client: TestClient, read_key: str, person: dict[str, Any]
) -> None:
    r = client.get("/v1/profiles/user-1", params={"merges": "true"}, headers=bearer(read_key))
    assert r.status_code == 200
    assert isinstance(r.json()["merges"], list)


def test_get_unknown_profile_is_404(client: TestClient, read_key: str) -> None:
    r = client.get("/v1/profiles/nobody", headers=bearer(read_key))
    assert r.status_code == 404
    assert "nobody" in r.json()["message"]


def test_list_profiles_busiest_first(client: TestClient, key: str, read_key: str) -> None:
    batch = [track("busy") for _ in range(3)] + [track("quiet")]
    client.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    r = client.get("/v1/profiles", params={"limit": 5}, headers=bearer(read_key))
    assert r.status_code == 200
    counts = [p["event_count"] for p in r.json()["profiles"]]
    assert counts == [3, 1]


def test_delete_profile_needs_admin_and_erases(
    client: TestClient, store: Store, key: str, read_key: str, admin_key: str,
    person: dict[str, Any],
) -> None:
    client.post("/v1/track", json=track("someone-else"), headers=basic(key))
    assert client.delete("/v1/profiles/user-1", headers=bearer(read_key)).status_code == 403
    assert client.delete("/v1/profiles/user-1", headers=basic(key)).status_code == 403
    assert client.delete("/v1/profiles/user-1").status_code == 401
    assert store.stats()["events"] == 5
    r = client.delete("/v1/profiles/ann@example.com", headers=bearer(admin_key))
    assert r.status_code == 200, r.text
    assert r.json()["rows"]["events"] == 4
    assert r.json()["matched_by"] == "email"
    for ident in ("user-1", "anon-1", "phone-1", "ann@example.com"):
        assert client.get(f"/v1/profiles/{ident}", headers=bearer(read_key)).status_code == 404
    stats = store.stats()
    assert stats["events"] == 1
    assert stats["profiles"] == 1
    assert client.delete("/v1/profiles/user-1", headers=bearer(admin_key)).status_code == 404


# -- catalog and social graph --------------------------------------------------------------

ITEMS = [
    {"item_id": "p1", "title": "Red mug", "category": "Home > Kitchen > Mugs", "price": 9.5,
     "currency": "eur", "tags": ["red", "mug"], "brand": "Acme"},
    {"item_id": "p2", "title": "Blue mug", "category": ["Home", "Kitchen", "Mugs"]},
]


def test_post_catalog_upserts_items(client: TestClient, store: Store, catalog_key: str,
                                    read_key: str) -> None:
    r = client.post("/v1/catalog", json={"items": ITEMS}, headers=bearer(catalog_key))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "upserted": 2}
    assert store.stats()["items"] == 2
    r = client.get("/v1/items/p1", headers=bearer(read_key))
    assert r.status_code == 200
    item = r.json()
    assert item["title"] == "Red mug"
    assert item["category"] == ["Home", "Kitchen", "Mugs"]
    assert item["currency"] == "EUR"
    assert item["price"] == 9.5


def test_post_catalog_with_read_key_is_403(client: TestClient, read_key: str) -> None:
    r = client.post("/v1/catalog", json={"items": ITEMS}, headers=bearer(read_key))
    assert r.status_code == 403


CATALOG_WRITES = [
    ("post", "/v1/catalog", {"items": ITEMS}),
    ("put", "/v1/items/p1", ITEMS[0]),
    ("post", "/v1/edges", {"edges": [{"src": "u1", "dst": "u2"}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), CATALOG_WRITES)
def test_catalog_writes_refuse_the_public_write_key(
        client: TestClient, store: Store, key: str, method: str, path: str,
        body: dict[str, Any]) -> None:
    # The write key ships inside web and mobile apps: it must not rewrite the catalogue.
    r = client.request(method, path, json=body, headers=basic(key))
    assert r.status_code == 403, r.text
    assert "catalog" in r.json()["message"]
    assert store.stats()["items"] == 0 and store.stats()["edges"] == 0


@pytest.mark.parametrize(("method", "path", "body"), CATALOG_WRITES)
def test_catalog_writes_take_a_catalog_or_admin_key(
        client: TestClient, catalog_key: str, admin_key: str, method: str, path: str,
        body: dict[str, Any]) -> None:
    for k in (catalog_key, admin_key):
        r = client.request(method, path, json=body, headers=bearer(k))
        assert r.status_code == 200, r.text


def test_catalog_key_cannot_send_events_or_read(client: TestClient, catalog_key: str) -> None:
    assert client.post("/v1/track", json=track(), headers=basic(catalog_key)).status_code == 403
    assert client.get("/v1/stats", headers=bearer(catalog_key)).status_code == 403


def test_put_item_creates_then_updates(client: TestClient, store: Store, catalog_key: str,
                                       read_key: str) -> None:
    r = client.put("/v1/items/p9", json={"item_id": "p9", "title": "Lamp"},
                   headers=bearer(catalog_key))
    assert r.status_code == 200, r.text
    r = client.put("/v1/items/p9", json={"item_id": "p9", "title": "Desk lamp", "price": 20},
                   headers=bearer(catalog_key))
    assert r.status_code == 200
    item = client.get("/v1/items/p9", headers=bearer(read_key)).json()
    assert item["title"] == "Desk lamp"
    assert item["price"] == 20
    assert store.stats()["items"] == 1


def test_put_item_with_id_mismatch_is_400(client: TestClient, store: Store,
                                          catalog_key: str) -> None:
    r = client.put("/v1/items/p1", json={"item_id": "p2", "title": "x"},
                   headers=bearer(catalog_key))
    assert r.status_code == 400
    assert r.json()["field"] == "item_id"
    assert store.stats()["items"] == 0


def test_get_unknown_item_is_404(client: TestClient, read_key: str) -> None:
    assert client.get("/v1/items/nope", headers=bearer(read_key)).status_code == 404


def test_post_edges_upserts_them(client: TestClient, store: Store, catalog_key: str) -> None:
    edges = [{"src": "u1", "dst": "u2"}, {"src": "u1", "dst": "u3", "kind": "follow",
                                          "weight": 0.5}]
    r = client.post("/v1/edges", json={"edges": edges}, headers=bearer(catalog_key))
    assert r.status_code == 200, r.text
    assert r.json()["upserted"] == 2
    r = client.post("/v1/edges", json={"edges": edges[:1]}, headers=bearer(catalog_key))
    assert r.status_code == 200
    assert store.stats()["edges"] == 2


# -- docs ----------------------------------------------------------------------------------

def test_docs_and_openapi_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for call in ("track", "identify", "page", "screen", "alias", "group", "batch"):
        assert f"/v1/{call}" in paths
    for path in ("/v1/profiles/{person}", "/v1/catalog", "/v1/items/{item_id}", "/v1/edges"):
        assert path in paths


# -- clock skew ----------------------------------------------------------------------------

def test_event_with_sent_at_and_original_timestamp_is_skew_corrected(
    client: TestClient, store: Store, key: str
) -> None:
    # The device's clock is years off; only the 90 s between creating and sending is trusted.
    ev = {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "skew-1",
          "originalTimestamp": "2020-03-01T12:00:00Z", "sentAt": "2020-03-01T12:01:30Z"}
    before = datetime.now(UTC)
    r = client.post("/v1/track", json=ev, headers=basic(key))
    after = datetime.now(UTC)
    assert r.status_code == 200, r.text
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(events.c.timestamp, events.c.received_at)
                           .where(events.c.message_id == "skew-1")).one()
    assert before - timedelta(seconds=1) <= row.received_at <= after + timedelta(seconds=1)
    assert row.timestamp == row.received_at - timedelta(seconds=90)


def test_event_with_own_timestamp_is_not_skew_corrected(
    client: TestClient, store: Store, key: str
) -> None:
    ev = {**track(), "messageId": "own-1", "originalTimestamp": "2020-03-01T12:00:00Z",
          "sentAt": "2020-03-01T12:01:30Z"}
    assert client.post("/v1/track", json=ev, headers=basic(key)).status_code == 200
    with store.engine.connect() as conn:
        ts = conn.scalar(sa.select(events.c.timestamp).where(events.c.message_id == "own-1"))
    assert ts == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def test_batch_sent_at_applies_skew_correction(client: TestClient, store: Store,
                                               key: str) -> None:
    ev = {"type": "track", "event": "E", "userId": "u1", "messageId": "skew-b",
          "originalTimestamp": "2020-03-01T12:00:00Z"}
    body = {"batch": [ev], "sentAt": "2020-03-01T12:00:05Z"}
    assert client.post("/v1/batch", json=body, headers=basic(key)).status_code == 200
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(events.c.timestamp, events.c.received_at)
                           .where(events.c.message_id == "skew-b")).one()
    assert row.timestamp == row.received_at - timedelta(seconds=5)


def test_client_received_at_is_replaced_by_the_server_clock(
    client: TestClient, store: Store, key: str
) -> None:
    # receivedAt is the server's (as in Segment): a client's own must not steer the correction.
    ev = {"type": "track", "event": "E", "userId": "u1", "messageId": "rx-1",
          "originalTimestamp": "2020-03-01T12:00:00Z", "sentAt": "2020-03-01T12:00:10Z",
          "receivedAt": "2020-03-01T12:00:10Z"}
    before = datetime.now(UTC)
    assert client.post("/v1/track", json=ev, headers=basic(key)).status_code == 200
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(events.c.timestamp, events.c.received_at)
                           .where(events.c.message_id == "rx-1")).one()
    assert row.received_at >= before - timedelta(seconds=1)
    assert row.timestamp == row.received_at - timedelta(seconds=10)


def test_post_catalog_with_a_bad_item_is_400_naming_the_field(
        client: TestClient, store: Store, catalog_key: str) -> None:
    r = client.post("/v1/catalog", headers=bearer(catalog_key),
                    json={"items": [{"item_id": "ok"}, {"item_id": "p2", "price": -3}]})
    assert r.status_code == 400
    assert r.json()["field"] == "items.1.price"
    assert store.stats()["items"] == 0


def test_oversized_request_with_a_wrong_header_key_is_401_not_413(
        client: TestClient, store: Store) -> None:
    body = {"batch": [track(properties={"blob": "x" * 600_000})]}
    r = client.post("/v1/batch", headers=basic("wrong"), json=body)
    assert r.status_code == 401
