"""Request bodies under hostile input: read only up to the limit, authorised early, gzip whole.

These drive the real application at the ASGI level with a body that arrives chunk by chunk,
so they can count how much of it the server pulled before answering — the part a test
client that buffers the whole body first cannot show.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store

CHUNK = 64 * 1024
LIMIT = 500 * 1024


class Body:
    """An ASGI ``receive`` that sends ``chunks`` pieces and counts those pulled."""

    def __init__(self, pieces: list[bytes] | None = None, *, chunks: int = 0,
                 chunk: bytes = b"x" * CHUNK) -> None:
        self.pieces = pieces
        self.chunks = chunks
        self.chunk = chunk
        self.pulled = 0

    async def __call__(self) -> dict[str, Any]:
        total = len(self.pieces) if self.pieces is not None else self.chunks
        if self.pulled >= total:
            return {"type": "http.disconnect"}
        piece = self.pieces[self.pulled] if self.pieces is not None else self.chunk
        self.pulled += 1
        return {"type": "http.request", "body": piece, "more_body": self.pulled < total}


def call(app: Any, path: str, body: Body, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST through the ASGI app; the status and JSON of its answer."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, body, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(payload)


@pytest.fixture
def app(sqlite_store: Store, tmp_path: Path) -> Any:
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}"),
                      store=sqlite_store)


def basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def test_chunked_body_without_a_key_is_read_only_up_to_the_limit(app: Any) -> None:
    # 400 MiB in 64 KiB chunks, no Content-Length, no key: the server stops at the limit.
    body = Body(chunks=400 * 16)
    status, answer = call(app, "/v1/batch", body, {"content-type": "text/plain"})
    assert status == 413 and answer["field"] == "body"
    assert body.pulled <= LIMIT // CHUNK + 1


def test_declared_length_over_the_limit_is_refused_before_reading(app: Any) -> None:
    body = Body(chunks=100)
    status, _ = call(app, "/v1/batch", body, {"content-length": str(100 * CHUNK)})
    assert status == 413 and body.pulled == 0


def test_key_in_header_is_checked_before_the_body_is_read(app: Any) -> None:
    body = Body(chunks=400 * 16)
    status, answer = call(app, "/v1/batch", body, basic("not-a-key"))
    assert status == 401 and answer["error"] == "Unauthorized"
    assert body.pulled == 0


def test_body_without_a_key_under_the_limit_is_read_then_refused(app: Any) -> None:
    raw = json.dumps({"batch": [{"type": "track", "event": "E", "userId": "u"}]}).encode()
    status, answer = call(app, "/v1/batch", Body([raw]), {"content-type": "text/plain"})
    assert status == 401 and "writeKey" in answer["message"]


def test_write_key_in_a_chunked_text_plain_body_is_accepted(
        app: Any, sqlite_store: Store) -> None:
    key = sqlite_store.create_key("ingest")
    raw = json.dumps({"writeKey": key, "batch": [
        {"type": "track", "event": "E", "userId": "u", "messageId": "m1"}]}).encode()
    pieces = [raw[i:i + 7] for i in range(0, len(raw), 7)]
    status, answer = call(app, "/v1/batch", Body(pieces), {"content-type": "text/plain"})
    assert status == 200 and answer["accepted"] == 1


def test_gzip_bomb_is_inflated_only_up_to_the_limit(app: Any, sqlite_store: Store) -> None:
    key = sqlite_store.create_key("ingest")
    bomb = gzip.compress(b" " * (200 * 1024 * 1024))  # 200 MiB of spaces, about 200 KB
    pieces = [bomb[i:i + CHUNK] for i in range(0, len(bomb), CHUNK)]
    body = Body(pieces)
    status, answer = call(app, "/v1/batch", body, {**basic(key), "content-encoding": "gzip"})
    assert status == 413 and answer["field"] == "body"
    # Inflating stopped within the first chunks, not after reading the whole bomb.
    assert body.pulled < len(pieces) / 2


def test_gzip_without_its_trailer_is_refused(app: Any, sqlite_store: Store) -> None:
    key = sqlite_store.create_key("ingest")
    whole = gzip.compress(json.dumps({"batch": [
        {"type": "track", "event": "E", "userId": "u", "messageId": "m1"}]}).encode())
    status, answer = call(app, "/v1/batch", Body([whole[:-8]]),
                          {**basic(key), "content-encoding": "gzip"})
    assert status == 400 and "cut off" in answer["message"]
    assert sqlite_store.stats()["events"] == 0


def test_gzip_followed_by_garbage_is_refused(app: Any, sqlite_store: Store) -> None:
    key = sqlite_store.create_key("ingest")
    whole = gzip.compress(json.dumps({"batch": [
        {"type": "track", "event": "E", "userId": "u", "messageId": "m1"}]}).encode())
    status, _ = call(app, "/v1/batch", Body([whole + b"junk"]),
                     {**basic(key), "content-encoding": "gzip"})
    assert status == 400


def test_gzip_arriving_in_many_chunks_is_accepted(app: Any, sqlite_store: Store) -> None:
    key = sqlite_store.create_key("ingest")
    events = [{"type": "track", "event": "E", "userId": f"u{i}", "messageId": f"m{i}"}
              for i in range(200)]
    whole = gzip.compress(json.dumps({"batch": events}).encode())
    pieces = [whole[i:i + 100] for i in range(0, len(whole), 100)]
    status, answer = call(app, "/v1/batch", Body(pieces),
                          {**basic(key), "content-encoding": "gzip"})
    assert status == 200 and answer["accepted"] == 200


def test_single_call_over_32kb_without_content_length_is_413(app: Any) -> None:
    status, _ = call(app, "/v1/track", Body(chunks=10), {})
    assert status == 413


def test_test_client_sees_the_same_limits(app: Any, sqlite_store: Store) -> None:
    key = sqlite_store.create_key("ingest")
    with TestClient(app) as client:
        r = client.post("/v1/batch", content=b"x" * (LIMIT + 1), headers=basic(key))
        assert r.status_code == 413
