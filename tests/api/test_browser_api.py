"""What web pages need: analytics.js's short paths, CORS, the write key as analytics.js sends
it, its project settings, /health, the OpenAPI schema and errors in one shape.

The same through a real browser running Segment's own analytics.js:
tests/api/test_analytics_js_browser.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store

TS = "2026-01-01T10:00:00Z"
PAGE = "http://shop.example:8080"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def client(store: Store, store_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=store_url, cors_origins=[PAGE]), store=store)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def key(store: Store) -> str:
    return store.create_key("ingest")


SHORT = {
    "t": {"type": "track", "event": "Product Viewed", "userId": "u1"},
    "i": {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}},
    "p": {"type": "page", "anonymousId": "a1", "name": "Home"},
    "s": {"type": "screen", "userId": "u1", "name": "Cart"},
    "a": {"type": "alias", "userId": "u1", "previousId": "a1"},
    "g": {"type": "group", "userId": "u1", "groupId": "g1"},
}


@pytest.mark.parametrize("path", list(SHORT))
def test_short_path_stores_the_call_with_the_key_in_a_text_plain_body(
        client: TestClient, store: Store, key: str, path: str) -> None:
    body = {**SHORT[path], "timestamp": TS, "messageId": f"m-{path}", "writeKey": key}
    r = client.post(f"/v1/{path}", content=json.dumps(body),
                    headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    assert store.stats()["events_by_call"] == {SHORT[path]["type"]: 1}


def test_short_batch_path_takes_basic_auth(client: TestClient, store: Store, key: str) -> None:
    events = [{**SHORT[p], "timestamp": TS, "messageId": f"b-{p}"} for p in SHORT]
    r = client.post("/v1/b", content=json.dumps({"batch": events}),
                    headers={**basic(key), "Content-Type": "text/plain"})
    assert r.status_code == 200 and r.json()["accepted"] == len(SHORT)


def test_short_path_refuses_a_call_of_another_type(client: TestClient, key: str) -> None:
    body = {**SHORT["t"], "writeKey": key, "timestamp": TS}
    r = client.post("/v1/i", json=body)
    assert r.status_code == 400 and r.json()["field"] == "type"


def test_short_path_without_a_key_is_401(client: TestClient) -> None:
    r = client.post("/v1/t", json={**SHORT["t"], "timestamp": TS})
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"


# -- CORS --------------------------------------------------------------------------------

def test_preflight_from_a_configured_origin_is_allowed(client: TestClient) -> None:
    r = client.options("/v1/t", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == PAGE
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


def test_post_from_a_configured_origin_carries_the_cors_header(
        client: TestClient, key: str) -> None:
    r = client.post("/v1/t", content=json.dumps({**SHORT["t"], "timestamp": TS}),
                    headers={**basic(key), "Origin": PAGE, "Content-Type": "text/plain"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PAGE


def test_preflight_from_another_origin_is_refused(client: TestClient) -> None:
    r = client.options("/v1/t", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers


def test_without_configured_origins_a_preflight_says_what_to_set(sqlite_store: Store) -> None:
    app = create_app(Settings(database_url="sqlite://"), store=sqlite_store)
    with TestClient(app) as c:
        r = c.options("/v1/t", headers={"Origin": PAGE, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 405
    assert r.json()["error"] == "MethodNotAllowed"
    assert "TAILORED_CORS_ORIGINS" in r.json()["message"]


def test_cors_origins_setting_reads_a_comma_separated_list(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILORED_CORS_ORIGINS", "https://a.example, http://localhost:3000/")
    assert Settings().cors_origins == ["https://a.example", "http://localhost:3000"]
    with pytest.raises(ValueError, match="not an origin"):
        Settings(cors_origins=["https://a.example/shop"])


# -- analytics.js project settings --------------------------------------------------------

def test_project_settings_send_analytics_js_back_to_this_server(
        client: TestClient, key: str) -> None:
    r = client.get(f"/v1/projects/{key}/settings", headers={"Host": "track.shop.example:9000",
                                                              "Origin": PAGE})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == PAGE
    segment = r.json()["integrations"]["Segment.io"]
    assert segment["apiKey"] == key
    assert segment["apiHost"] == "track.shop.example:9000/v1"
    assert segment["protocol"] == "http"
    assert r.json()["metrics"]["sampleRate"] == 0  # nothing goes to Segment


def test_project_settings_of_an_unknown_key_is_404(client: TestClient) -> None:
    r = client.get("/v1/projects/tk_nope/settings")
    assert r.status_code == 404 and r.json()["error"] == "NotFound"


@pytest.mark.parametrize("scope", ["catalog", "read", "admin"])
def test_project_settings_refuse_keys_that_must_not_be_in_a_page(
        client: TestClient, store: Store, scope: str) -> None:
    r = client.get(f"/v1/projects/{store.create_key(scope)}/settings")  # type: ignore[arg-type]
    assert r.status_code == 403 and "ingest" in r.json()["message"]


# -- /health ------------------------------------------------------------------------------

def test_health_is_ok_without_a_key(client: TestClient, store: Store) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["store"] == "reachable"
    assert body["backend"] == store.backend and body["migration"] == body["head"]


def test_health_is_503_when_migrations_are_not_current(
        client: TestClient, store: Store) -> None:
    with store.engine.begin() as conn:
        head = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        r = client.get("/health")
        assert r.status_code == 503
        assert r.json()["status"] == "schema not current"
        assert r.json()["migration"] == "0001"
    finally:
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_health_is_503_when_the_store_cannot_be_reached() -> None:
    engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                              connect_args={"connect_timeout": 2})
    app = create_app(Settings(database_url="sqlite://"), store=Store(engine))
    with TestClient(app) as c:
        r = c.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable" and r.json()["store"].startswith("unreachable")


# -- errors and OpenAPI -------------------------------------------------------------------

def test_unknown_path_is_404_in_the_projects_error_shape(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"success": False, "error": "NotFound",
                        "message": "no such endpoint: GET /v1/nothing-here (see /docs)"}


def test_wrong_method_is_405_in_the_projects_error_shape(client: TestClient) -> None:
    r = client.get("/v1/track")
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()  # type: ignore[no-any-return]


SEGMENT_PATHS = ["track", "identify", "page", "screen", "alias", "group", "batch",
                 "t", "i", "p", "s", "a", "g", "b"]


@pytest.mark.parametrize("path", SEGMENT_PATHS)
def test_openapi_documents_each_segment_endpoints_body_with_an_example(
        openapi: dict[str, Any], path: str) -> None:
    op = openapi["paths"][f"/v1/{path}"]["post"]
    content = op["requestBody"]["content"]
    assert set(content) == {"application/json", "text/plain"}
    ref = content["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    schema = openapi["components"]["schemas"][name]
    assert schema["properties"]  # a real schema, not an empty placeholder
    example = content["application/json"]["example"]
    assert example and ("batch" in example or "type" in example)
    assert op["security"] == [{"writeKey": []}, {"bearerKey": []}]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/IngestResult")
    assert "422" not in op["responses"]


def test_openapi_examples_are_accepted_by_the_endpoints(
        client: TestClient, openapi: dict[str, Any], key: str) -> None:
    for path in ("track", "identify", "page", "screen", "alias", "group", "batch"):
        example = openapi["paths"][f"/v1/{path}"]["post"]["requestBody"]["content"][
            "application/json"]["example"]
        r = client.post(f"/v1/{path}", json=example, headers=basic(key))
        assert r.status_code == 200 and not r.json()["rejected"], (path, r.text)


def test_openapi_has_key_security_schemes(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["writeKey"] == {"type": "http", "scheme": "basic",
                                   "description": schemes["writeKey"]["description"]}
    assert schemes["bearerKey"]["scheme"] == "bearer"
    assert openapi["paths"]["/v1/stats"]["get"]["security"]


@pytest.mark.parametrize(("path", "model"), [
    ("/v1/stats", "StatsOut"), ("/v1/profiles", "ProfilesOut"),
    ("/v1/profiles/{person}", "ProfileOut"),
    ("/v1/recommendations/{person}", "RecommendationsOut"), ("/health", "HealthOut")])
def test_openapi_types_the_responses(openapi: dict[str, Any], path: str, model: str) -> None:
    ok = openapi["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"] == f"#/components/schemas/{model}"
    assert openapi["components"]["schemas"][model]["required"]


def test_typed_responses_keep_every_field(client: TestClient, store: Store, key: str) -> None:
    read = store.create_key("read")
    client.post("/v1/identify", json={
        "userId": "ann", "anonymousId": "a-1", "traits": {"email": "ann@example.com"},
        "timestamp": TS, "messageId": f"m-{uuid.uuid4().hex}"}, headers=basic(key))
    stats = client.get("/v1/stats", headers=basic(read)).json()
    assert stats == store.stats()
    profile = client.get("/v1/profiles/ann@example.com", headers=basic(read)).json()
    # The store's document, plus the real-time part (live counters, current segments).
    assert {k: v for k, v in profile.items() if k not in ("live", "segments")} == \
        store.profile("ann@example.com")
    assert "live" in profile and profile["segments"] == []
    with_merges = client.get("/v1/profiles/ann?merges=true", headers=basic(read)).json()
    assert "merges" in with_merges
    assert client.get("/v1/profiles", headers=basic(read)).json() == {
        "profiles": store.profiles(20)}
