"""Two writers on one store at once (a CLI import beside a running server)."""

from __future__ import annotations

import multiprocessing as mp

from tailored.ingest import Ingestor
from tailored.store import Store


def _writer(url: str, tag: str, n: int) -> None:
    store = Store.open(url)
    try:
        events = [{"type": "track", "event": "Product Viewed", "userId": f"u{i % 40}",
                   "anonymousId": f"anon-{i % 40}", "messageId": f"{tag}-{i}",
                   "timestamp": "2026-01-01T00:00:00Z"} for i in range(n)]
        report = Ingestor(store, chunk_size=50).ingest_events(events)
        assert report.accepted == n and not report.rejected
    finally:
        store.close()


def test_concurrent_writers_land_every_event_on_one_profile_per_user(store_url: str) -> None:
    Store.open(store_url).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(store_url, tag, 1000)) for tag in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store.open(store_url)
    try:
        stats = store.stats()
        assert stats["events"] == 2000
        assert stats["profiles"] == 40
        assert stats["merges"] == 0
    finally:
        store.close()


def test_ingesting_in_many_threads_leaves_the_garbage_collector_on(sqlite_store: Store) -> None:
    import gc
    from concurrent.futures import ThreadPoolExecutor

    ingestor = Ingestor(sqlite_store)

    def one(i: int) -> int:
        return ingestor.ingest_events([{"type": "track", "event": "E", "userId": f"u{i}",
                                        "messageId": f"t{i}"}]).accepted

    assert gc.isenabled()
    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(one, range(200))) == 200
    assert gc.isenabled()
