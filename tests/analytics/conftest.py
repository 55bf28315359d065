"""A tiny shop of three people, ingested through the real pipeline and exported as a
snapshot, opened on each analytics engine. Its numbers are small enough to check by hand.

Person a (iOS, age 30, female, DE), b (web, age 70, male, FR), c (Android, age 22, female,
DE); a and b are in segment "vip", a in "shoes". Items p1 (Shoes > Running, Acme, 50) and p2
(Books, Verde, 10). Times in January 2026 (Monday 5 January starts a week).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tailored.analytics import Source, opened
from tailored.ingest import Ingestor, SourceRecord
from tailored.segments.membership import record_membership
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tailored.store.tables import profiles

IOS = {"device": {"id": "dev-a", "type": "ios"}, "os": {"name": "iOS"}}
WEB = {"library": {"name": "analytics.js"}, "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"}
ANDROID = {"device": {"id": "dev-c", "type": "android"}, "os": {"name": "Android"}}
ITEMS = [
    {"item_id": "p1", "title": "Runner", "category": "Shoes > Running", "brand": "Acme",
     "price": 50.0, "tags": ["sport", "outdoor"]},
    {"item_id": "p2", "title": "Novel", "category": "Books", "brand": "Verde", "price": 10.0},
]


def _ev(n: list[int], user: str, ctx: dict[str, Any], when: str, kind: str = "track",
        event: str | None = None, **body: Any) -> dict[str, Any]:
    n[0] += 1
    ev: dict[str, Any] = {"type": kind, "userId": user, "context": ctx,
                          "timestamp": f"2026-01-{when}Z", "messageId": f"m-{n[0]:03d}", **body}
    if event is not None:
        ev["event"] = event
    return ev


def tiny_events() -> list[dict[str, Any]]:
    n = [0]
    order = "Order Completed"
    return [
        _ev(n, "a", IOS, "05T09:59:00", "identify",
            traits={"age": 30, "gender": "female", "country": "DE"}),
        _ev(n, "a", IOS, "05T10:00:00", "screen", name="Home"),
        _ev(n, "a", IOS, "05T10:01:00", event="Product Viewed", properties={"product_id": "p1"}),
        _ev(n, "a", IOS, "05T10:06:00", event="Product Added",
            properties={"product_id": "p1", "price": 50}),
        _ev(n, "a", IOS, "05T10:11:00", event="Checkout Started", properties={"value": 50}),
        _ev(n, "a", IOS, "05T10:21:00", event=order, properties={
            "order_id": "o1", "products": [{"product_id": "p1", "quantity": 1, "price": 50}]}),
        _ev(n, "a", IOS, "05T10:22:00", event="Survey Answered",
            properties={"survey": "nps", "score": 10, "question": "Recommend us?"}),
        _ev(n, "a", IOS, "07T12:00:00", event="Product Rated",
            properties={"product_id": "p1", "rating": 5}),
        _ev(n, "a", IOS, "20T09:00:00", event="Product Viewed", properties={"product_id": "p2"}),
        _ev(n, "a", IOS, "20T09:01:00", event=order, properties={
            "order_id": "o2", "products": [{"product_id": "p2", "quantity": 2, "price": 10}]}),
        _ev(n, "b", WEB, "06T11:59:00", "identify",
            traits={"age": 70, "gender": "male", "country": "FR"}),
        _ev(n, "b", WEB, "06T12:00:00", "page", name="Home"),
        _ev(n, "b", WEB, "06T12:01:00", event="Product Viewed", properties={"product_id": "p1"}),
        _ev(n, "b", WEB, "06T12:51:00", event="Product Added",
            properties={"product_id": "p1", "price": 50}),
        _ev(n, "b", WEB, "06T12:52:00", event="Survey Answered",
            properties={"survey": "NPS", "score": 5}),
        _ev(n, "b", WEB, "06T12:53:00", event="Survey Answered",
            properties={"survey": "csat", "score": "4"}),
        _ev(n, "b", WEB, "06T12:54:00", "page", name="Shoes"),
        _ev(n, "c", ANDROID, "12T07:59:00", "identify",
            traits={"age": 22, "gender": "female", "country": "DE",
                    "favourite colour": "green", "plan.tier": "gold", "vip": True}),
        _ev(n, "c", ANDROID, "12T08:00:00", event="Product Viewed",
            properties={"product_id": "p2"}),
        _ev(n, "c", ANDROID, "12T08:02:00", event="Product Added",
            properties={"product_id": "p2", "price": 10}),
        _ev(n, "c", ANDROID, "12T08:03:00", event="Checkout Started"),
        _ev(n, "c", ANDROID, "12T08:04:00", event=order, properties={
            "order_id": "o3", "products": [{"product_id": "p2", "quantity": 1, "price": 10}]}),
        _ev(n, "c", ANDROID, "12T08:05:00", event="Survey Answered",
            properties={"survey_type": "csat", "value": 2}),
        _ev(n, "c", ANDROID, "12T08:30:00", event="Product Rated",
            properties={"product_id": "p2", "rating": 3}),
        # Not counted: a score that is not a number, and one outside the CSAT scale.
        _ev(n, "c", ANDROID, "12T08:31:00", event="Survey Answered",
            properties={"survey": "nps", "score": "ten"}),
        _ev(n, "c", ANDROID, "12T08:32:00", event="Survey Answered",
            properties={"survey": "csat", "score": 9}),
    ]


def build_snapshot(folder: Path, events: list[dict[str, Any]],
                   items: list[dict[str, Any]] | None = None,
                   segments: dict[str, list[str]] | None = None) -> Path:
    """Ingest ``items`` and ``events`` into a fresh SQLite store, put the users named in
    ``segments`` in those segments, and export a snapshot."""
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    try:
        records = [SourceRecord("item", item, i) for i, item in enumerate(items or [])]
        records += [SourceRecord("event", ev, i) for i, ev in enumerate(events)]
        report = Ingestor(store).ingest(records, strict=True)
        assert not report.rejected, report.rejected
        with store.reading() as conn:
            profile_of = dict(conn.execute(sa.select(profiles.c.user_id, profiles.c.profile_id)
                                           .where(profiles.c.merged_into.is_(None))).all())
        for name, users in (segments or {}).items():
            record_membership(store, name, [profile_of[u] for u in users])
        export_snapshot(store, folder / "snapshot")
    finally:
        store.close()
    return folder / "snapshot"


@pytest.fixture(scope="session")
def tiny_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot(tmp_path_factory.mktemp("tiny"), tiny_events(), ITEMS,
                          {"vip": ["a", "b"], "shoes": ["a"]})


@pytest.fixture(scope="session")
def empty_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot(tmp_path_factory.mktemp("empty"), [])


def open_on(request: pytest.FixtureRequest, folder: Path) -> Iterator[Source]:
    backend = request.param
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    # A schema of its own, so that two snapshots opened in one session never overwrite.
    schema = f"analytics_{uuid.uuid4().hex[:8]}"
    with opened(folder, backend, url=url, schema=schema) as source:
        yield source


BACKEND_PARAMS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def tiny(request: pytest.FixtureRequest, tiny_snapshot: Path) -> Iterator[Source]:
    """The tiny shop on each engine."""
    yield from open_on(request, tiny_snapshot)


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def empty(request: pytest.FixtureRequest, empty_snapshot: Path) -> Iterator[Source]:
    """A snapshot of an empty store on each engine."""
    yield from open_on(request, empty_snapshot)
