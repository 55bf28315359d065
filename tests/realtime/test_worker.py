"""The worker: --once and status from the command line, failures parked, SIGKILL survived."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.realtime.consumers import Batch, Context, LiveProfileConsumer
from tailored.realtime.worker import REPORT_KEYS, Worker
from tailored.store import Store
from tests.realtime.helpers import live_vs_recount, random_stream

runner = CliRunner()


def _cli(db: str, *args: str) -> Any:
    result = runner.invoke(app, ["--db", db, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_worker_once_prints_exactly_the_contract_keys(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(db) as store:
        Ingestor(store).ingest_events(random_stream(random.Random(3), 120))
    first = _cli(db, "worker", "--once", "--json")
    assert set(first) == set(REPORT_KEYS)
    assert first["events"] == 120 and first["profiles_updated"] > 0
    assert _cli(db, "worker", "--once", "--as-of", "2026-12-01T00:00:00Z", "--json")[
        "events"] == 0
    status = _cli(db, "worker", "status", "--json")
    live = next(c for c in status["consumers"] if c["consumer"] == "live_profile")
    assert live["pending_events"] == 0 and live["events_handled"] == 120
    assert status["parked"] == [] and status["parked_total"] == 0


def test_worker_once_rejects_a_bad_as_of(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", f"sqlite:///{tmp_path / 's.db'}", "worker", "--once",
                                 "--as-of", "yesterday", "--json"])
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInput) and "--as-of" in str(result.exception)
    assert not (tmp_path / "s.db").exists()  # refused before anything was created


def test_profile_shows_live_counters_and_segments(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(db) as store:
        Ingestor(store).ingest_events([
            {"type": "track", "event": "Product Added", "userId": "ann", "messageId": "a1",
             "timestamp": "2026-11-01T10:00:00Z", "properties": {"product_id": "p1"}},
            {"type": "track", "event": "Product Added", "userId": "ann", "messageId": "a2",
             "timestamp": "2026-11-01T10:05:00Z", "properties": {"product_id": "p2"}},
            {"type": "track", "event": "Order Completed", "userId": "ann", "messageId": "a3",
             "timestamp": "2026-11-01T10:10:00Z",
             "properties": {"revenue": 12.5, "products": [{"product_id": "p1"}]}},
        ])
    before = _cli(db, "profile", "ann", "--json")
    assert before["live"] is None and before["segments"] == []
    _cli(db, "worker", "--once", "--json")
    data = _cli(db, "profile", "ann", "--json")
    assert {"profile_id", "identities", "traits", "event_count"} <= set(data)  # kept
    live = data["live"]
    assert live["events"] == {"Product Added": 2, "Order Completed": 1}
    assert live["orders"] == 1 and live["revenue"] == 12.5 and live["cart"] == ["p2"]
    assert live["sessions"] == 1 and live["first_seen"].startswith("2026-11-01T10:00")
    assert live["items_bought"] == 1 and live["items_carted"] == 2


class _Failing:
    """Fails on every event named Boom; counts what it handled otherwise."""

    name = "failing"
    transactional = True

    def __init__(self) -> None:
        self.calls = 0

    def handle(self, ctx: Context, batch: Batch) -> dict[str, int]:
        self.calls += 1
        for row in batch.events:
            if getattr(row, "event", None) == "Boom":
                raise RuntimeError(f"cannot handle {row.message_id}")
        return {}


def test_a_failing_handler_is_retried_then_parked_without_blocking(store_url: str) -> None:
    rng = random.Random(11)
    stream = random_stream(rng, 60)
    stream.insert(20, {"type": "track", "event": "Boom", "userId": "u-x", "messageId": "boom-1",
                       "timestamp": "2026-11-02T00:00:00Z"})
    with Store.open(store_url) as store:
        Ingestor(store).ingest_events(stream)
        failing = _Failing()
        worker = Worker(store, consumers=[LiveProfileConsumer(), failing],
                        backoff_seconds=0.001)
        report = worker.run_once()
        assert report["events"] == 61
        status = worker.status()
        live, recounted = live_vs_recount(store)
    assert live == recounted  # the other consumer is not held up
    assert status["parked_total"] == 1
    parked = status["parked"][0]
    assert parked["consumer"] == "failing" and parked["message_id"] == "boom-1"
    assert parked["attempts"] == 3 and "cannot handle boom-1" in parked["error"]
    failing_pos = next(c for c in status["consumers"] if c["consumer"] == "failing")
    assert failing_pos["pending_events"] == 0  # the stream moved on past it


def _worker_process(db: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "tailored", "--db", db, "worker", "--batch-size", "50"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _handled(store: Store) -> int:
    status = Worker(store).status()
    return next(c["events_handled"] for c in status["consumers"]
                if c["consumer"] == "live_profile")


def test_a_worker_killed_mid_batch_counts_nothing_twice(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    rng = random.Random(5)
    total = 0
    kills_mid_way = 0
    with Store.open(db) as store:
        ingestor = Ingestor(store, chunk_size=97)
        for _ in range(3):
            n = 6_000
            ingestor.ingest_events(random_stream(rng, n, people=60, start=total))
            total += n
            before = _handled(store)
            proc = _worker_process(db)
            deadline = time.monotonic() + 60
            while _handled(store) == before and time.monotonic() < deadline:
                time.sleep(0.02)  # until it has committed its first batch
            time.sleep(rng.random() * 0.3)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills_mid_way += _handled(store) < total
        handled = _handled(store)
        report = Worker(store, consumers=[LiveProfileConsumer()]).run_once()
        live, recounted = live_vs_recount(store)
        after = _handled(store)
    assert kills_mid_way >= 1  # at least one kill landed part way through
    assert report["events"] == total - handled  # what was committed is not handled again
    assert after == total
    assert live == recounted


def test_worker_once_keeps_live_segments_and_counts_their_events(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    now = datetime.now(UTC)
    with Store.open(db) as store:
        Ingestor(store).ingest_events([
            {"type": "track", "event": "Order Completed", "userId": u, "messageId": f"o-{u}",
             "timestamp": (now - timedelta(days=1)).isoformat(),
             "properties": {"revenue": 10}} for u in ("ann", "bob")])
    rule = {"event": "Order Completed", "within_days": 30}
    result = runner.invoke(app, ["--db", db, "segment", "define", "buyers", "--rule",
                                 json.dumps(rule), "--live", "--json"])
    assert result.exit_code == 0, result.output
    soon = (now + timedelta(minutes=5)).isoformat()
    first = _cli(db, "worker", "--once", "--as-of", soon, "--json")
    assert first["segments_entered"] == 2 and first["segments_exited"] == 0
    ann = _cli(db, "profile", "ann", "--json")
    assert ann["segments"] == ["buyers"]
    # The Segment Entered event is the person's like any other: counted live.
    assert ann["live"]["events"].get("Segment Entered") == 1
    # Time alone: 30 days after the order, both leave, found by their due time.
    later = (now + timedelta(days=30)).isoformat()
    report = _cli(db, "worker", "--once", "--as-of", later, "--json")
    assert report["due_checked"] == 2 and report["segments_exited"] == 2
    ann = _cli(db, "profile", "ann", "--json")
    assert ann["segments"] == [] and ann["live"]["events"].get("Segment Exited") == 1
    with Store.open(db) as store:
        live, recounted = live_vs_recount(store)
    assert live == recounted


def test_a_catch_up_recounts_late_history_once_not_once_a_batch(
        tmp_path: Path, monkeypatch: Any) -> None:
    """An import read back out of time order, batch after batch: people are marked stale
    (live profiles) or due (live segments) while more of the log is to come, and recounted
    or evaluated once when it is drained — the result is the recount's, exactly."""
    from tailored.realtime import live_profile
    from tailored.segments.definitions import define_segment
    from tailored.segments.live import set_live

    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        t0 = datetime(2026, 11, 1, tzinfo=UTC)
        # Each chunk holds older events than the one before, for the same two people.
        for chunk in range(6):
            Ingestor(store).ingest_events([
                {"type": "track", "userId": who, "event": "Product Viewed",
                 "messageId": f"{who}-{chunk}-{i}",
                 "timestamp": (t0 - timedelta(days=chunk, minutes=i)).isoformat(),
                 "properties": {"product_id": f"p{i}"}}
                for who in ("ann", "bob") for i in range(10)])
        define_segment(store, "viewers", {"event": "Product Viewed", "count": {">=": 50}})
        set_live(store, "viewers", True, now=datetime.now(UTC))
        recounts: list[str] = []
        real = live_profile.recount

        def counting(rows: Any) -> Any:
            recounts.append("x")
            return real(rows)

        monkeypatch.setattr(live_profile, "recount", counting)
        report = Worker(store, batch_size=20).run_once()
        assert report["events"] >= 120  # and the Segment Entered events it recorded
        assert len(recounts) <= 2  # once per person, not once per batch
        live, recounted = live_vs_recount(store)
        assert live == recounted and not any(s.get("_stale") for s in live.values())
        assert report["segments_entered"] == 2
    finally:
        store.close()
