"""``tailored serve`` says where it listens and logs each request with ids masked."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx

from tailored.api.access_log import masked_path
from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store
from tests.api.conftest import Served

EMAIL = "ann@example.com"


def test_serve_prints_where_it_listens_and_masks_ids_in_its_request_log(
        serve: Callable[..., Served]) -> None:
    served = serve()
    with Store.open(served.db) as store:
        key = store.create_key("ingest")
        read = store.create_key("read")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{read}:".encode()).decode()}
    httpx.post(f"{served.url}/v1/identify", json={
        "userId": "user-7", "traits": {"email": EMAIL}, "writeKey": key})
    assert httpx.get(f"{served.url}/v1/profiles/{EMAIL}", headers=auth).status_code == 200
    httpx.get(f"{served.url}/v1/profiles/{EMAIL}?merges=true&as={EMAIL}", headers=auth)
    httpx.get(f"{served.url}/v1/recommendations/user-7?k=3", headers=auth)
    httpx.get(f"{served.url}/v1/projects/{key}/settings")
    httpx.get(f"{served.url}/v1/profile/{EMAIL}")  # a typo: no route matches
    httpx.get(f"{served.url}/{EMAIL}")
    log = served.stop()

    assert f"listening on {served.url}" in log
    assert f"docs {served.url}/docs" in log
    assert "GET /v1/profiles/{person} 200" in log
    assert "GET /v1/profiles/{person}?as=…&merges=… 200" in log
    assert "GET /v1/recommendations/{person}?k=…" in log
    assert "GET /v1/projects/{write_key}/settings 200" in log
    assert "POST /v1/identify 200" in log
    assert "GET /v1/… 404" in log and "GET /… 404" in log
    for secret in (EMAIL, "ann@", "user-7", key, read):
        assert secret not in log, secret


def test_serve_without_access_log_logs_no_requests(serve: Callable[..., Served]) -> None:
    served = serve("--no-access-log")
    httpx.get(f"{served.url}/v1/stats")
    log = served.stop()
    assert "listening on" in log and "/v1/stats" not in log and "GET /health" not in log


def test_masked_path_keeps_templates_and_the_words_of_the_api(sqlite_store: Store) -> None:
    app = create_app(Settings(database_url="sqlite://"), store=sqlite_store)
    assert masked_path({"path": f"/v1/x/{EMAIL}", "app": app}) == "/v1/…"
    assert masked_path({"path": "/v1/profiles/x/y", "app": app}) == "/v1/profiles/…"
    assert masked_path({"path": "/", "app": app}) == "/"
    assert masked_path({"path": "/v1/stats", "app": app,
                        "query_string": f"user={EMAIL}&k=1".encode()}) == "/v1/stats?k=…&user=…"
