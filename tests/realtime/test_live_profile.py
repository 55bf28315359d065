"""Live profiles equal a recount from the events table, whatever the path and the order."""

from __future__ import annotations

import random

import pytest

from tailored.ingest import Ingestor
from tailored.realtime.bus import LocalBus
from tailored.realtime.changes import Change
from tailored.realtime.worker import Worker
from tailored.store import Store
from tests.realtime.helpers import live_vs_recount, random_stream


def _drain(bus: LocalBus, worker: Worker) -> None:
    while deliveries := bus.read(timeout=0.01):
        worker.handle_change(Change.combine([d.change for d in deliveries]))
        for d in deliveries:
            d.ack()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_equals_recount_on_random_streams(store_url: str, seed: int) -> None:
    rng = random.Random(seed)
    bus = LocalBus()
    with Store.open(store_url) as store:
        ingestor = Ingestor(store, chunk_size=rng.randrange(3, 17), publisher=bus)
        worker = Worker(store)
        start = 0
        for _ in range(6):
            n = rng.randrange(10, 60)
            ingestor.ingest_events(random_stream(rng, n, start=start))
            start += n
            if rng.random() < 0.5:
                _drain(bus, worker)  # the bus path
            else:
                worker.catch_up()  # the store path; the bus's changes come later
        _drain(bus, worker)
        worker.catch_up()
        live, recounted = live_vs_recount(store)
    assert live == recounted
    assert live  # something was counted


def test_late_consumer_catches_up_from_the_store(store_url: str) -> None:
    rng = random.Random(7)
    with Store.open(store_url) as store:
        Ingestor(store, chunk_size=25).ingest_events(random_stream(rng, 200))  # no publisher
        report = Worker(store).run_once()
        live, recounted = live_vs_recount(store)
        assert report["events"] == 200 - 0 or report["events"] > 0
        again = Worker(store).run_once()
    assert live == recounted
    assert again["events"] == 0 and again["profiles_updated"] == 0
