"""Real servers: an event posted to one ``tailored serve`` changes the person's
recommendations on another (PostgreSQL, a private redis-server), a CLI import reaches an
embedded server, and a model retrained by ``tailored train`` is served without a restart."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tailored.store import Store
from tests.api.conftest import Served, free_port, serve
from tests.realtime.test_fresh_models import order, seed
from tests.realtime.test_redis_bus import RedisServer, redis_server

__all__ = ["redis_server", "serve"]


def tailored(db: str, *args: str, env: dict[str, str] | None = None) -> str:
    environ = {**os.environ, "NO_COLOR": "1", **(env or {})}
    environ.pop("TAILORED_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "tailored", "--db", db, *args], env=environ,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``tailored serve`` processes on a given store, stopped at the end."""
    started: list[Served] = []

    def start(db: str, env: dict[str, str]) -> Served:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        environ = {**os.environ, "NO_COLOR": "1", **env}
        environ.pop("TAILORED_DATABASE_URL", None)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tailored", "--db", db, "serve", "--port", str(port),
                 "--no-access-log"], stdout=out, stderr=subprocess.STDOUT, env=environ,
                start_new_session=True)
        served = Served(f"http://127.0.0.1:{port}", db, log, proc)
        started.append(served)
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{served.url}/health", timeout=2).status_code == 200:
                    return served
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    yield start
    for served in started:
        served.stop()


def recs(server: Served, key: str, person: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}/v1/recommendations/{person}?k=3",
                  headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def wait_warm(server: Served, key: str, person: str, seconds: float = 10) -> float:
    started = time.perf_counter()
    while True:
        items = recs(server, key, person)
        if items and "bought" in items[0]["reason"]:
            return time.perf_counter() - started
        assert time.perf_counter() - started < seconds, items
        time.sleep(0.01)


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_an_event_posted_to_one_server_changes_recommendations_on_another(
        store_url: str, redis_server: RedisServer, servers: Callable[..., Served],
        tmp_path: Path) -> None:
    with Store.open(store_url) as store:
        seed(store)
        read, write = store.create_key("read"), store.create_key("ingest")
    tailored(store_url, "train", "--model", "item-knn")
    env = {"TAILORED_REDIS_URL": redis_server.url, "TAILORED_REDIS_STREAM": "fresh-test"}
    one, two = servers(store_url, env), servers(store_url, env)
    assert all("don't know" in i["reason"] for i in recs(two, read, "newbie"))
    time.sleep(0.5)  # both read the broadcast stream from here on
    r = httpx.post(f"{one.url}/v1/track", json=order("newbie", "b1", "fresh-1"),
                   headers={"Authorization": f"Bearer {write}"}, timeout=10)
    assert r.status_code == 200, r.text
    took = wait_warm(two, read, "newbie")
    assert took < 2.0, f"{took:.3f} s"  # the broadcast, not the once-a-second catch-up
    assert recs(two, read, "newbie") == recs(one, read, "newbie")

    # Retrained by the CLI (with an item neither server's model knows): served at once.
    events = tmp_path / "more.jsonl"
    events.write_text("".join(json.dumps(order(f"u{u}", "c9", f"c9-{u}")) + "\n"
                              for u in range(8)))
    tailored(store_url, "ingest", str(events))
    r = httpx.get(f"{two.url}/v1/items/c9/similar?k=2",
                  headers={"Authorization": f"Bearer {read}"}, timeout=10)
    assert r.status_code == 400 and "c9" in r.text
    tailored(store_url, "train", "--model", "item-knn")
    for server in (one, two):
        r = httpx.get(f"{server.url}/v1/items/c9/similar?k=2",
                      headers={"Authorization": f"Bearer {read}"}, timeout=10)
        assert r.status_code == 200 and len(r.json()["items"]) == 2, r.text
    # The new copy keeps what came over the API since its snapshot? (newbie's order came
    # before it, so the snapshot has it): newbie is warm on both, from training now.
    assert "bought" in recs(two, read, "newbie")[0]["reason"]
    assert "Traceback" not in one.stop() + two.stop()


def test_a_cli_import_reaches_an_embedded_servers_models(
        tmp_path: Path, serve: Callable[..., Served]) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.open(db) as store:
        seed(store)
        read = store.create_key("read")
    tailored(db, "train", "--model", "item-knn")
    server = serve()
    assert all("don't know" in i["reason"] for i in recs(server, read, "newbie"))
    events = tmp_path / "one.jsonl"
    events.write_text(json.dumps(order("newbie", "b1", "cli-1")) + "\n")
    tailored(db, "ingest", str(events))
    wait_warm(server, read, "newbie", seconds=10)
    # A retrain after another CLI event: the new copy is served, with that event folded in.
    events.write_text(json.dumps(order("later", "a2", "cli-2")) + "\n")
    tailored(db, "train", "--model", "item-knn")
    tailored(db, "ingest", str(events))
    wait_warm(server, read, "later", seconds=10)
