"""Fresh recommendations in every serving process: each one's models see every event once,
whichever process ingested it, and pick up a retrained model with what came since."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from tailored.config import Settings
from tailored.ingest import Ingestor
from tailored.realtime.fresh_models import ModelFoldIn, ServingPublisher
from tailored.recommend import Filters
from tailored.recommend.model_store import ModelStore, open_models
from tailored.recommend.training import ModelCache, recommendations_for, train_from_store
from tailored.store import Store
from tests.realtime.test_redis_bus import RedisServer, redis_server

__all__ = ["redis_server"]


def seed(store: Store) -> None:
    events = [{"type": "track", "event": "Order Completed", "userId": f"u{u}",
               "messageId": f"m{u}-{i}", "timestamp": "2026-01-01T00:00:00Z",
               "properties": {"products": [{"product_id": f"{'ab'[u % 2]}{(u + i) % 4}"}]}}
              for u in range(8) for i in range(3)]
    assert not Ingestor(store).ingest_events(events).rejected


def order(user: str, item: str, mid: str) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": user, "messageId": mid,
            "properties": {"products": [{"product_id": item}]}}


def models_of(store: Store, store_url: str) -> ModelStore:
    return open_models(store, Settings(database_url=store_url).models_folder())


def items_for(cache: ModelCache, store: Store, person: str) -> list[dict[str, Any]]:
    return list(recommendations_for(cache.get(), store, person, 3, Filters())["items"])


def fresh_row(cache: ModelCache, store: Store, person: str) -> np.ndarray | None:
    row = cache.get()._fresh.get(store.find_profile(person))  # type: ignore[attr-defined]
    return None if row is None else row.toarray().ravel()


@pytest.fixture
def trained(store: Store, store_url: str) -> Store:
    seed(store)
    train_from_store(store, "item-knn", models_of(store, store_url))
    return store


def test_an_event_one_process_ingests_reaches_anothers_models_once(
        trained: Store, store_url: str) -> None:
    store = trained
    a, b = ModelCache(models_of(store, store_url)), ModelCache(models_of(store, store_url))
    fold_a, fold_b = ModelFoldIn(store, a), ModelFoldIn(store, b)
    ingestor = Ingestor(store, publisher=ServingPublisher(None, fold_a))
    assert ingestor.ingest_events([order("newbie", "b1", "fresh-1")]).accepted == 1
    # The ingesting process folded it in before answering.
    warm_a = items_for(a, store, "newbie")
    assert warm_a[0]["item_id"].startswith("b") and "bought" in warm_a[0]["reason"]
    # The other process learns of it from the store's log (no bus here).
    assert all("don't know" in i["reason"] for i in items_for(b, store, "newbie"))
    assert fold_b.catch_up() == 1
    assert items_for(b, store, "newbie") == warm_a
    # Once each: a second catch-up, and the same change announced again, fold nothing.
    before = fresh_row(b, store, "newbie")
    assert fold_b.catch_up() == 0 and fold_a.catch_up() == 0
    from tailored.realtime.changes import Change

    again = Change(events=(("fresh-1", store.find_profile("newbie")),))
    assert fold_a.fold_change(again) == 0 and fold_b.fold_change(again) == 0
    assert np.array_equal(fresh_row(b, store, "newbie"), before)  # type: ignore[arg-type]
    assert np.array_equal(fresh_row(a, store, "newbie"), before)  # type: ignore[arg-type]


def test_a_retrained_model_is_served_with_the_events_since_its_snapshot(
        trained: Store, store_url: str) -> None:
    store = trained
    cache = ModelCache(models_of(store, store_url))
    fold = ModelFoldIn(store, cache)
    old = cache.get()
    Ingestor(store).ingest_events([order("early", "c9", "e-1"), order("u0", "c9", "e-2")])
    assert fold.catch_up() == 2
    # c9 is new to the old model: folded in, it cannot be recommended yet.
    assert "c9" not in old.interactions_.item_index  # type: ignore[attr-defined]
    train_from_store(store, "item-knn", models_of(store, store_url))
    Ingestor(store).ingest_events([order("late", "b2", "l-1")])
    assert fold.catch_up() == 1  # into the loaded (old) model
    new = cache.get()  # the stamp changed: the retrained copy, before it serves anything
    assert new is not old and "c9" in new.interactions_.item_index  # type: ignore[attr-defined]
    # What came after its snapshot is folded in; what it was trained on is not again.
    assert fresh_row(cache, store, "late") is not None
    assert fresh_row(cache, store, "early") is None
    assert any(i["item_id"] == "c9" for i in items_for(cache, store, "u1") + items_for(
        cache, store, "u2") + items_for(cache, store, "u4"))
    assert fold.catch_up() == 0


def test_a_model_that_cannot_load_does_not_stop_the_folding(
        store: Store, store_url: str) -> None:
    # Nothing trained: events are still taken in order, and nothing fails.
    cache = ModelCache(models_of(store, store_url))
    fold = ModelFoldIn(store, cache)
    Ingestor(store, publisher=ServingPublisher(None, fold)).ingest_events(
        [order("x", "a1", "x-1")])
    assert fold.folded == 1 and fold.catch_up() == 0


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_change_broadcast_over_redis_reaches_every_process(
        trained: Store, store_url: str, redis_server: RedisServer) -> None:
    from tailored.realtime.redis_bus import RedisBus

    store = trained
    bus_a, bus_b = RedisBus(redis_server.url), RedisBus(redis_server.url)
    a, b = ModelCache(models_of(store, store_url)), ModelCache(models_of(store, store_url))
    fold_a, fold_b = ModelFoldIn(store, a), ModelFoldIn(store, b)
    a.get(), b.get()
    # Catch-ups far apart: only the broadcast can bring it to b quickly.
    fold_b.start(bus_b, catch_up_seconds=3600)
    try:
        bus_b.read_broadcasts(timeout=0.01)  # b reads from now on
        time.sleep(0.3)
        ingestor = Ingestor(store, publisher=ServingPublisher(bus_a, fold_a))
        started = time.perf_counter()
        ingestor.ingest_events([order("newbie", "b1", "fresh-1")])
        while fold_b.folded == 0 and time.perf_counter() - started < 5:
            time.sleep(0.005)
        took = time.perf_counter() - started
        assert fold_b.folded == 1, "the broadcast did not reach the other process"
        assert took < 1.0
        assert items_for(b, store, "newbie") == items_for(a, store, "newbie")
    finally:
        fold_b.stop()
        bus_a.close()
        bus_b.close()


def test_a_stopped_fold_in_thread_ends(store: Store, store_url: str) -> None:
    fold = ModelFoldIn(store, ModelCache(models_of(store, store_url)))
    fold.start(None, catch_up_seconds=0.05)
    time.sleep(0.1)
    fold.stop()
    assert not any(t.name == "tailored-fold-in" and t.is_alive()
                   for t in threading.enumerate())
