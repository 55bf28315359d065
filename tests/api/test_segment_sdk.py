"""The official Segment Python SDK, pointed at a real uvicorn server, on both backends.

Proves what the issue asks: events sent by ``segment-analytics-python`` with its ``host``
option land once, on the right people, with or without gzip, batched or one by one; a
wrong write key is refused with 401 and the SDK reports it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store

analytics = pytest.importorskip("segment.analytics")
APIError = pytest.importorskip("segment.analytics.request").APIError


@pytest.fixture
def server(store: Store, store_url: str) -> Iterator[str]:
    """``tailored serve``'s app on a free port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound before the server starts: no race for the port
    port = sock.getsockname()[1]
    app = create_app(Settings(database_url=store_url), store=store)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if not thread.is_alive():
            pytest.fail("the server thread died while starting")
        if time.monotonic() > deadline:
            pytest.fail("the server did not start within 15 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the server did not shut down"


def _send_shop(client: Any) -> None:
    for i in range(50):
        client.track(f"sdk-user-{i % 5}", "Product Viewed", {"product_id": f"p{i}"})
    client.identify("sdk-user-0", {"email": "SDK0@example.com", "name": "Zero"})


@pytest.mark.parametrize("use_gzip", [False, True], ids=["plain", "gzip"])
def test_sdk_sync_mode_delivers_every_event_once(
    server: str, store: Store, use_gzip: bool
) -> None:
    errors: list[str] = []
    client = analytics.Client(
        write_key=store.create_key(), host=server, sync_mode=True, gzip=use_gzip,
        max_retries=0, on_error=lambda e, batch: errors.append(repr(e)))
    _send_shop(client)
    assert errors == []
    stats = store.stats()
    assert stats["events"] == 51
    assert stats["profiles"] == 5
    assert stats["events_by_call"] == {"identify": 1, "track": 50}
    assert stats["duplicates"] == 0
    person = store.profile("sdk0@example.com")
    assert person["event_count"] == 11
    assert person["traits"]["name"] == "Zero"
    assert {"kind": "user_id", "value": "sdk-user-0"} in person["identities"]


@pytest.mark.parametrize("use_gzip", [False, True], ids=["plain", "gzip"])
def test_sdk_async_batches_deliver_every_event_once(
    server: str, store: Store, use_gzip: bool
) -> None:
    errors: list[str] = []
    client = analytics.Client(
        write_key=store.create_key(), host=server, gzip=use_gzip, upload_size=20,
        upload_interval=0.05, max_retries=0,
        on_error=lambda e, batch: errors.append(repr(e)))
    try:
        _send_shop(client)
        client.flush()
    finally:
        client.shutdown()
    assert errors == []
    stats = store.stats()
    assert stats["events"] == 51
    assert stats["profiles"] == 5


def test_sdk_resent_message_id_is_counted_as_duplicate(server: str, store: Store) -> None:
    client = analytics.Client(write_key=store.create_key(), host=server, sync_mode=True,
                              max_retries=0)
    for _ in range(3):
        client.track("sdk-user-1", "Order Completed", {"order_id": "o1"}, message_id="m-1")
    stats = store.stats()
    assert stats["events"] == 1
    assert stats["duplicates"] == 2


def test_sdk_wrong_write_key_in_sync_mode_raises_401(server: str, store: Store) -> None:
    client = analytics.Client(write_key="tk_wrong", host=server, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as info:
        client.track("sdk-user-1", "Product Viewed")
    assert info.value.status == 401
    assert store.stats()["events"] == 0


def test_sdk_wrong_write_key_calls_on_error_with_401(server: str, store: Store) -> None:
    errors: list[Any] = []
    client = analytics.Client(write_key="tk_wrong", host=server, upload_interval=0.05,
                              max_retries=0, on_error=lambda e, batch: errors.append(e))
    try:
        client.track("sdk-user-1", "Product Viewed")
        client.flush()
    finally:
        client.shutdown()
    assert len(errors) == 1
    assert getattr(errors[0], "status", None) == 401
    assert store.stats()["events"] == 0


def test_sdk_read_key_is_refused_with_403(server: str, store: Store) -> None:
    client = analytics.Client(write_key=store.create_key("read"), host=server, sync_mode=True,
                              max_retries=0)
    with pytest.raises(APIError) as info:
        client.track("sdk-user-1", "Product Viewed")
    assert info.value.status == 403
    assert store.stats()["events"] == 0
