"""The Redis Streams bus against a private redis-server (never the machine's shared one)."""

from __future__ import annotations

import logging
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tailored.ingest import Ingestor
from tailored.realtime.changes import Change
from tailored.realtime.redis_bus import RedisBus
from tailored.realtime.worker import Worker
from tailored.store import Store
from tests.realtime.helpers import live_vs_recount, random_stream

pytest.importorskip("redis")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server of our own on a free port, nothing kept on disk."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _drain(bus: RedisBus, worker: Worker) -> int:
    n = 0
    while deliveries := bus.read(timeout=0.05):
        worker.handle_change(Change.combine([d.change for d in deliveries]))
        for d in deliveries:
            d.ack()
        n += len(deliveries)
    return n


def test_two_workers_share_the_stream_and_counts_stay_exact(
        store_url: str, redis_server: RedisServer) -> None:
    rng = random.Random(21)
    publisher = RedisBus(redis_server.url, prefix="t1")
    a, b = (RedisBus(redis_server.url, prefix="t1", consumer=name) for name in "ab")
    a.read(timeout=0.01)  # make the group before anything is published
    with Store.open(store_url) as store:
        ingestor = Ingestor(store, chunk_size=13, publisher=publisher)
        wa, wb = Worker(store), Worker(store)
        start = 0
        for _ in range(4):
            ingestor.ingest_events(random_stream(rng, 40, start=start))
            start += 40
            # Each entry goes to one of the two consumers.
            got_a = _drain(a, wa)
            got_b = _drain(b, wb)
            assert got_a + got_b > 0
        assert a.pending() == 0
        live, recounted = live_vs_recount(store)
    assert live == recounted and live
    for bus in (publisher, a, b):
        bus.close()


def test_a_dead_consumers_pending_entries_are_taken_over(
        store_url: str, redis_server: RedisServer) -> None:
    publisher = RedisBus(redis_server.url, prefix="t2")
    dead = RedisBus(redis_server.url, prefix="t2", consumer="dead")
    alive = RedisBus(redis_server.url, prefix="t2", consumer="alive", claim_idle_ms=100)
    dead.read(timeout=0.01)
    with Store.open(store_url) as store:
        Ingestor(store, chunk_size=10, publisher=publisher).ingest_events(
            random_stream(random.Random(2), 50))
        taken = dead.read(timeout=0.1)  # read, never acknowledged: the process "died"
        assert taken and dead.pending() == len(taken)
        time.sleep(0.25)
        alive._last_claim = 0.0
        worker = Worker(store)
        assert _drain(alive, worker) >= len(taken)
        assert alive.pending() == 0
        live, recounted = live_vs_recount(store)
    assert live == recounted


def test_redis_down_logs_one_line_and_ingestion_goes_on(
        store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(_free_port())  # not started yet: Redis is down
    bus = RedisBus(server.url, prefix="t3", retry_seconds=0.2, timeout=0.2)
    caplog.set_level(logging.WARNING, logger="tailored.realtime")
    with Store.open(store_url) as store:
        ingestor = Ingestor(store, chunk_size=5, publisher=bus)
        report = ingestor.ingest_events(random_stream(random.Random(4), 30))
        assert report.accepted == 30
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "Redis unavailable" in errors[0].getMessage()
        assert "\n" not in errors[0].getMessage()
        server.start()
        try:
            time.sleep(0.3)
            ingestor.ingest_events(random_stream(random.Random(5), 5, start=100))
            reader = RedisBus(server.url, prefix="t3", consumer="r")
            deliveries = reader.read(timeout=0.1)
            # Redis came back after the group was made: the publisher said it missed
            # changes; a worker catches up from the store.
            reader.client.xgroup_destroy(reader.stream, "tailored-consumers")
            reader._group_ready = False
            deliveries = reader.read(timeout=0.1)
            assert deliveries[0].change.resync
            worker = Worker(store)
            for d in deliveries:
                worker.handle_change(d.change)
                d.ack()
            live, recounted = live_vs_recount(store)
            assert live == recounted and sum(s["event_count"] for s in live.values()) == 35
            reader.close()
        finally:
            server.stop()
    bus.close()


def test_every_process_sees_every_broadcast(redis_server: RedisServer) -> None:
    one, two = (RedisBus(redis_server.url, prefix="t4", consumer=n) for n in ("1", "2"))
    for bus in (one, two):
        bus.read_broadcasts(timeout=0.01)
    one._broadcast_from = two._broadcast_from = "0-0"
    one.broadcast("model", {"name": "ease", "trained_at": "2026-12-05T00:00:00Z"})
    for bus in (one, two):
        got = bus.read_broadcasts(timeout=0.2)
        assert [(b.topic, b.body["name"]) for b in got] == [("model", "ease")]
        bus.close()


def test_a_worker_thread_follows_the_stream(store_url: str, redis_server: RedisServer) -> None:
    publisher = RedisBus(redis_server.url, prefix="t5")
    consumer_bus = RedisBus(redis_server.url, prefix="t5", consumer="w")
    with Store.open(store_url) as store:
        worker = Worker(store)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop, consumer_bus),
                                  kwargs={"catch_up_seconds": 60.0})
        thread.start()
        try:
            time.sleep(0.3)
            Ingestor(store, publisher=publisher).ingest_events([
                {"type": "track", "event": "Product Added", "userId": "zoe", "messageId": "z1",
                 "properties": {"product_id": "shoe"}}])
            pid = store.find_profile("zoe")
            deadline = time.monotonic() + 5
            state = None
            while time.monotonic() < deadline:
                live, _ = live_vs_recount(store)
                if (state := live.get(pid)) is not None:
                    break
                time.sleep(0.02)
        finally:
            stop.set()
            thread.join(10)
    assert state is not None and state["cart"] == [["shoe", 1.0]]
    publisher.close()
    consumer_bus.close()


def _worker(db: str, redis_url: str, prefix: str = "t6") -> subprocess.Popen[str]:
    import os
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
           "TAILORED_REDIS_URL": redis_url, "TAILORED_REDIS_STREAM": prefix}
    return subprocess.Popen([sys.executable, "-m", "tailored", "--db", db, "worker"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(check: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_worker_process_with_redis_down_says_so_once_and_catches_up_from_the_store(
        tmp_path: object) -> None:
    import signal
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    db = f"sqlite:///{tmp_path / 's.db'}"
    down = RedisServer(_free_port())  # never started
    with Store.open(db) as store:
        Ingestor(store).ingest_events(random_stream(random.Random(8), 30))
        proc = _worker(db, down.url)
        try:
            def counted() -> bool:
                live, recounted = live_vs_recount(store)
                return bool(live) and live == recounted
            _wait_for(counted)
            Ingestor(store).ingest_events(random_stream(random.Random(9), 20, start=100))
            _wait_for(counted)
            live, _ = live_vs_recount(store)
            assert sum(s["event_count"] for s in live.values()) == 50
        finally:
            proc.send_signal(signal.SIGTERM)  # a clean stop
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    unavailable = [line for line in err.splitlines() if "unavailable" in line]
    assert len(unavailable) == 1, err
    assert "stopped" in err.splitlines()[-1]


def test_two_servers_and_a_worker_share_one_stream(serve: object,
                                                   redis_server: RedisServer) -> None:
    """Two `tailored serve` and one `tailored worker` over one Redis: whichever server takes
    an event, the live counters end equal to a recount, and nothing is left pending."""
    import httpx

    env = {"TAILORED_REDIS_URL": redis_server.url, "TAILORED_REDIS_STREAM": "t7"}
    one = serve(env=env)  # type: ignore[operator]
    two = serve(env=env)  # type: ignore[operator]
    proc = _worker(one.db, redis_server.url, "t7")
    try:
        with Store.open(one.db) as store:
            key = store.create_key("ingest")
            rng = random.Random(12)
            for i in range(6):
                batch = random_stream(rng, 25, start=i * 25)
                url = (one if i % 2 else two).url
                r = httpx.post(f"{url}/v1/batch", auth=(key, ""), json={"batch": batch})
                assert r.status_code == 200, r.text

            def settled() -> bool:
                live, recounted = live_vs_recount(store)
                return live == recounted and sum(
                    s["event_count"] for s in live.values()) == 150
            _wait_for(settled)
            bus = RedisBus(redis_server.url, prefix="t7", consumer="check")
            _wait_for(lambda: bus.pending() == 0)
            bus.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_changes_that_never_reached_the_stream_are_relayed_from_the_store(
        store_url: str, redis_server: RedisServer) -> None:
    from tailored.realtime.embedded import worker_for
    from tailored.realtime.relay import StreamRelay

    reader = RedisBus(redis_server.url, prefix="t8", consumer="w")
    watcher = RedisBus(redis_server.url, prefix="t8", consumer="x")
    watcher._broadcast_from = "0-0"
    with Store.open(store_url) as store:
        Ingestor(store).ingest_events(random_stream(random.Random(1), 10))  # before: not ours
        worker = worker_for(store, reader)
        relay = worker.consumers[-1]
        assert isinstance(relay, StreamRelay)
        relay.grace_seconds = 0.0
        worker.catch_up()
        assert reader.client.xlen(reader.broadcasts) == 0  # history is not replayed
        # Published as it happened: the relay only moves.
        Ingestor(store, publisher=RedisBus(redis_server.url, prefix="t8")).ingest_events(
            random_stream(random.Random(2), 10, start=100))
        _drain(reader, worker)
        worker.catch_up()
        on_stream = reader.client.xlen(reader.broadcasts)
        assert on_stream == 1
        # Never published (Redis was away for its publisher): relayed from the store.
        missed = random_stream(random.Random(3), 10, start=200)
        Ingestor(store).ingest_events(missed)
        worker.catch_up()
        got = watcher.read_broadcasts(timeout=0.2)
        relayed = {m for b in got if b.topic == "change" for m, _ in b.body["events"]}
        assert {e["messageId"] for e in missed} <= relayed
        assert worker.counts["relayed"] == 10
        _drain(reader, worker)  # the relayed entries are handled again: counted once
        live, recounted = live_vs_recount(store)
    assert live == recounted
    reader.close()
    watcher.close()
