"""What keeps real time fast under load: merges that carry their ids (so a catch-up does not
recount people a bus already handled), live segments that leave alone people none of whose
new events a live rule watches, and the consumers of ``tailored serve`` in a worker process
of its own, which must never outlive the server."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tailored.ingest import Ingestor
from tailored.realtime.changes import Change
from tailored.realtime.positions import Position, load_position
from tailored.realtime.status import worker_status
from tailored.realtime.worker import Worker
from tailored.segments.live import refresh_people, set_live, watched_events
from tailored.segments.rules import parse_rule
from tailored.store import Store
from tests.api.conftest import Served, serve
from tests.realtime.helpers import live_vs_recount, random_stream

__all__ = ["serve"]

NOW = datetime(2026, 12, 6, tzinfo=UTC)


class Captured:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def publish(self, change: Change) -> None:
        self.changes.append(change)


# -- merges with ids ------------------------------------------------------------------------

def test_a_change_names_its_merges_by_their_store_ids(sqlite_store: Store) -> None:
    import sqlalchemy as sa

    from tailored.store.tables import merges

    bus = Captured()
    Ingestor(sqlite_store, publisher=bus).ingest_events(random_stream(random.Random(3), 200))
    published = [(pair, mid) for c in bus.changes
                 for pair, mid in zip(c.merges, c.merge_ids, strict=True)]
    assert published, "the stream made no merge"
    assert all(len(c.merge_ids) == len(c.merges) for c in bus.changes)
    with sqlite_store.reading() as conn:
        stored = {r.id: (r.from_profile, r.into_profile)
                  for r in conn.execute(sa.select(merges))}
    assert {mid: pair for pair, mid in published} == stored
    combined = Change.combine(bus.changes)
    assert Change.from_json(combined.to_json()) == combined


def test_merges_a_bus_brought_are_not_applied_again_by_a_catch_up(sqlite_store: Store) -> None:
    bus = Captured()
    Ingestor(sqlite_store, publisher=bus).ingest_events(random_stream(random.Random(5), 300))
    worker = Worker(sqlite_store)
    applied: list[tuple[str, str]] = []
    original = worker.consumers[0].handle  # the live profile

    def spy(ctx, batch):  # type: ignore[no-untyped-def]
        applied.extend(batch.moved)
        return original(ctx, batch)

    worker.consumers[0].handle = spy  # type: ignore[method-assign]
    # Delivered out of order, as a bus may: every merge applied once, none by the catch-up.
    for change in reversed(bus.changes):
        worker.handle_change(change)
    by_bus = list(applied)
    assert len(by_bus) == sum(len(c.merges) for c in bus.changes) > 0
    worker.catch_up()
    assert applied == by_bus
    status = worker_status(sqlite_store, [c.name for c in worker.consumers])
    assert all(c["pending_merges"] == 0 and c["pending_events"] == 0
               for c in status["consumers"])
    with sqlite_store.reading() as conn:
        pos = load_position(conn, "live_profile")
    assert pos.merge_seen == [] and pos.merge_pos == max(
        m for c in bus.changes for m in c.merge_ids)
    live, recounted = live_vs_recount(sqlite_store)
    assert live == recounted


def test_merge_positions_fold_into_the_watermark() -> None:
    pos = Position("x", merge_pos=3)
    pos.mark_merges([6, 5])
    assert (pos.merge_pos, pos.merge_seen) == (3, [[5, 6]])
    assert pos.merge_handled(5) and not pos.merge_handled(4)
    pos.mark_merges([4])
    assert (pos.merge_pos, pos.merge_seen) == (6, [])
    pos.mark_merges([9])
    pos.advance_merges_to(8)
    assert (pos.merge_pos, pos.merge_seen) == (9, [])


# -- live segments watch their events ---------------------------------------------------------

@pytest.mark.parametrize(("rule", "watched"), [
    ({"event": "Order Completed", "count": {">=": 2}}, {"Order Completed"}),
    ({"all": [{"event": "Product Added", "within_days": 1},
              {"not": {"event": "Order Completed", "within_days": 1}}]},
     {"Product Added", "Order Completed"}),
    # Holds for someone with no history: any first event may bring a new person in.
    ({"not": {"event": "Order Completed"}}, None),
    ({"event": "Order Completed", "count": {"<": 1}}, None),
    # Traits, platforms and metrics change with events of any kind.
    ({"all": [{"event": "Order Completed"}, {"trait": "plan", "=": "pro"}]}, None),
    ({"platform": ["ios"]}, None),
])
def test_the_events_a_live_rule_watches(rule: dict[str, object], watched: set[str] | None
                                        ) -> None:
    got = watched_events(parse_rule(rule), now=NOW)
    assert got == (frozenset(watched) if watched is not None else None)


def _track(user: str, event: str, mid: str, when: datetime) -> dict[str, object]:
    return {"type": "track", "userId": user, "event": event, "messageId": mid,
            "timestamp": when.isoformat()}


def test_people_none_of_whose_new_events_are_watched_are_left_alone(sqlite_store: Store
                                                                     ) -> None:
    from tailored.segments.definitions import define_segment

    Ingestor(sqlite_store).ingest_events([
        _track("ann", "Order Completed", "o1", NOW - timedelta(hours=2)),
        _track("bob", "Product Viewed", "v1", NOW - timedelta(hours=2))])
    define_segment(sqlite_store, "buyers", {"event": "Order Completed"})
    set_live(sqlite_store, "buyers", True, now=NOW)
    ann, bob = (sqlite_store.find_profile(u) for u in ("ann", "bob"))
    first = refresh_people(sqlite_store, [ann, bob], now=NOW)
    assert first == {"entered": 1, "exited": 0, "checked": 2}
    # Bob only viewed something: nothing a live rule reads; Ann ordered again.
    quiet = refresh_people(sqlite_store, [ann, bob], now=NOW,
                           events_of={ann: {"Order Completed"}, bob: {"Product Viewed", None}})
    assert quiet["checked"] == 1
    # Someone named without events (a merge, a due check) is always evaluated.
    assert refresh_people(sqlite_store, [ann, bob], now=NOW, events_of={})["checked"] == 2


# -- the server's own worker process ----------------------------------------------------------

def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = ""
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, waiting for its (dead) parent's reaper
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_serve_keeps_live_state_in_a_worker_process_that_dies_with_it(
        tmp_path: Path, serve: Callable[..., Served]) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.open(db) as store:
        write, read = store.create_key("ingest"), store.create_key("read")
    server = serve()
    workers = [c for c in _children(server.proc.pid) if " worker " in _cmdline(c) + " "]
    assert len(workers) == 1, [_cmdline(c) for c in _children(server.proc.pid)]
    r = httpx.post(f"{server.url}/v1/track", json=_track("zoe", "Order Completed", "z1", NOW),
                   headers={"Authorization": f"Bearer {write}"}, timeout=10)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    while True:
        doc = httpx.get(f"{server.url}/v1/profiles/zoe",
                        headers={"Authorization": f"Bearer {read}"}, timeout=10).json()
        if doc.get("live"):
            break
        assert time.monotonic() < deadline, doc
        time.sleep(0.02)
    assert doc["live"]["orders"] == 1
    # Killed without a chance to stop it: its worker notices and stops too.
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    assert _gone(workers[0], 10), _cmdline(workers[0])


def test_serve_no_realtime_only_ingests(tmp_path: Path) -> None:
    from tests.api.conftest import free_port

    db = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.open(db) as store:
        write, read = store.create_key("ingest"), store.create_key("read")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TAILORED_DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "tailored", "--db", db, "serve", "--port",
                             str(port), "--no-realtime", "--no-access-log"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert _children(proc.pid) == []
        r = httpx.post(f"{url}/v1/track", json=_track("kim", "Order Completed", "k1", NOW),
                       headers={"Authorization": f"Bearer {write}"}, timeout=10)
        assert r.status_code == 200, r.text
        time.sleep(1.0)
        doc = httpx.get(f"{url}/v1/profiles/kim", headers={"Authorization": f"Bearer {read}"},
                        timeout=10).json()
        assert doc["event_count"] == 1 and doc["live"] is None
    finally:
        proc.terminate()
        proc.wait(15)
