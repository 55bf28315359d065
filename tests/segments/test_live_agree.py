"""Batch and live agree: on random event streams (late events and merges included) with
time-window rules, the members that live updates keep (a refresh after every event, due
checks as the clock moves) are at every checkpoint the members that the compiled query
computes for everyone at that moment; and ``segment compute`` then finds nothing to change."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailored.analytics import opened
from tailored.errors import NotFound
from tailored.ingest import Ingestor
from tailored.segments import current_members, define_segment, evaluation_query, parse_rule
from tailored.segments.compute import compute_rules
from tailored.segments.live import due_people, refresh_people, set_live
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tailored.store.tables import metadata

START = datetime(2026, 1, 1, tzinfo=UTC)
# Events sit on whole minutes and windows and thresholds end on whole minutes; the clock
# reads half a minute past, so no check lands exactly on a boundary.
HALF = timedelta(seconds=30)
USERS = ("u0", "u1", "u2")
# Visitors not yet identified; an alias joins one to a user (a merge moving their history).
VISITORS = ("a0", "a1")
EVENTS = ("Order Completed", "Product Viewed", "Product Added")
PLATFORMS = ("web", "ios")

windows = st.sampled_from((0.5, 1, 2, 5))
event_leaf = st.one_of(
    st.builds(lambda e, w: {"event": e, "within_days": w}, st.sampled_from(EVENTS), windows),
    st.builds(lambda e, op, k, w: {"event": e, "count": {op: k}, "within_days": w},
              st.sampled_from(EVENTS), st.sampled_from((">=", "<", "=")),
              st.integers(0, 3), windows))
platform_leaf = st.builds(lambda p, w: {"platform": p, "within_days": w},
                          st.sampled_from(PLATFORMS), windows)
time_metric = st.builds(lambda m, op, k: {"metric": m, op: k + 0.3},
                        st.sampled_from(("recency_days", "tenure_days", "order_recency_days")),
                        st.sampled_from((">", ">=", "<", "<=")), st.integers(0, 6))
count_metric = st.builds(lambda op, k: {"metric": "orders", op: k},
                         st.sampled_from((">=", "<")), st.integers(1, 3))
trait_leaf = st.builds(lambda v: {"trait": "plan", "=": v}, st.sampled_from(("pro", "free")))
leaf = st.one_of(event_leaf, event_leaf, platform_leaf, time_metric, time_metric, count_metric,
                 trait_leaf)
rules = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda rs: {"all": rs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda rs: {"any": rs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda r: {"not": r}, inner)), max_leaves=4)

# One step of the stream: the clock moves on (minutes), then one event arrives (perhaps
# late: stamped earlier than the clock) or nothing, and perhaps a checkpoint compares.
tracks = st.tuples(st.sampled_from(USERS + VISITORS), st.sampled_from(EVENTS),
                   st.sampled_from(PLATFORMS), st.one_of(st.just(0), st.integers(0, 3 * 1440)))
aliases = st.tuples(st.just("alias"), st.sampled_from(USERS), st.sampled_from(VISITORS))
identifies = st.tuples(st.just("identify"), st.sampled_from(USERS),
                       st.sampled_from(("pro", "free")))
steps = st.lists(st.tuples(
    st.integers(0, 4 * 1440),                              # minutes the clock moves
    st.one_of(st.none(), tracks, tracks, aliases, identifies),
    st.booleans()), min_size=1, max_size=14)


def _event(n: int, step: tuple[Any, ...], clock: datetime) -> dict[str, Any]:
    if step[0] == "identify":
        return {"type": "identify", "userId": step[1], "traits": {"plan": step[2]},
                "timestamp": clock.isoformat(), "messageId": f"m{n}"}
    if step[0] == "alias":
        return {"type": "alias", "userId": step[1], "previousId": step[2],
                "timestamp": clock.isoformat(), "messageId": f"m{n}"}
    who, name, platform, late = step
    props: dict[str, Any] = ({"order_id": f"o{n}", "revenue": 10} if name == "Order Completed"
                             else {"product_id": "sku"})
    return {"type": "track", "event": name, "userId" if who in USERS else "anonymousId": who,
            "timestamp": (clock - timedelta(minutes=late)).isoformat(), "messageId": f"m{n}",
            "properties": props, "context": {"platform": platform}}


def _people(store: Store, names: tuple[str, ...]) -> set[str]:
    """The profiles these ids name now (those that exist)."""
    out = set()
    for name in names:
        with contextlib.suppress(NotFound):
            out.add(store.find_profile(name))
    return out


def _batch(store: Store, named: dict[str, Any], folder: Path, at: datetime
           ) -> dict[str, list[str]]:
    export_snapshot(store, folder)
    with opened(folder) as source:
        frame = evaluation_query(named, source, as_of=at).execute()
    return {name: sorted(frame.loc[frame[name].fillna(False).astype(bool), "profile_id"])
            for name in named}


def _check(store: Store, named: dict[str, Any], folder: Path, at: datetime,
           docs: list[Any]) -> None:
    batch = _batch(store, named, folder, at)
    for i, name in enumerate(named):
        live = current_members(store, name)
        assert live == batch[name], (f"at {at}: {docs[i]}: live {live}, batch {batch[name]}")


def run_stream(store: Store, folder: Path, docs: list[Any], stream: list[Any]) -> None:
    named = {f"s{i}": parse_rule(doc) for i, doc in enumerate(docs)}
    for i, doc in enumerate(docs):
        define_segment(store, f"s{i}", doc)
        set_live(store, f"s{i}", True, now=START)
    ingestor = Ingestor(store)
    clock = START
    checked = 0
    for n, (minutes, event, checkpoint) in enumerate(stream):
        clock += timedelta(minutes=minutes)
        now = clock + HALF
        refresh_people(store, due_people(store, now=now), now=now)
        if event is not None:
            # The worker refreshes every profile a change touched: before and after a merge.
            involved = tuple(x for x in event if x in USERS + VISITORS)
            before = _people(store, involved)
            report = ingestor.ingest_events([_event(n, event, clock)], received_at=now)
            assert not report.rejected, report.rejected
            refresh_people(store, before | _people(store, involved), now=now)
        if checkpoint:
            _check(store, named, folder, now, docs)
            checked += 1
    # Long after the last event every window has emptied: the due checks alone get there.
    end = clock + timedelta(days=12) + HALF
    refresh_people(store, due_people(store, now=end), now=end)
    _check(store, named, folder, end, docs)
    # segment compute at that moment finds the live segments as they should be.
    export_snapshot(store, folder)
    with opened(folder) as source:
        results = compute_rules(store, source, named, as_of=end, now=end)
    assert [(r["entered"], r["left"]) for r in results] == [(0, 0)] * len(named)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(rules, min_size=1, max_size=4), stream=steps)
def test_live_and_batch_agree_on_random_streams(docs: list[Any], stream: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'store.db'}")
        try:
            run_stream(store, Path(tmp) / "snap", docs, stream)
        finally:
            store.close()


def _empty_postgres(url: str) -> None:
    """The store's tables emptied, as a fresh store has them (see tests/conftest.py)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        conn.exec_driver_sql("INSERT INTO counters (name, value) VALUES ('identity_graph', 0)")
    engine.dispose()


@pytest.mark.postgres
def test_live_and_batch_agree_on_postgres(postgres_url: str) -> None:
    """The same on a PostgreSQL store (fewer examples: each empties a database)."""
    Store.open(postgres_url).close()  # migrated once

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(docs=st.lists(rules, min_size=1, max_size=4), stream=steps)
    def agree(docs: list[Any], stream: list[Any]) -> None:
        _empty_postgres(postgres_url)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(postgres_url)
            try:
                run_stream(store, Path(tmp) / "snap", docs, stream)
            finally:
                store.close()

    agree()
