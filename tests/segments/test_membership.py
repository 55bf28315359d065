"""Membership with history in the store: entered/left rows, sizes, overlaps, merges, and the
migration that adds the tables to an existing database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from tailored.errors import InvalidInput, NotFound
from tailored.ingest import Ingestor
from tailored.segments import (
    current_members,
    overlaps,
    profile_segments,
    record_membership,
    segment_sizes,
)
from tailored.store import Store
from tailored.store.migrate import current_revision, head_revision, upgrade
from tailored.store.snapshots import export_snapshot

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def people(store: Store, *users: str) -> dict[str, str]:
    """Profiles for these user ids; returns user id → profile id."""
    events = [{"type": "identify", "userId": u, "traits": {"n": i},
               "timestamp": "2026-01-01T00:00:00Z", "messageId": f"id-{u}"}
              for i, u in enumerate(users)]
    assert not Ingestor(store).ingest_events(events).rejected
    return {u: store.find_profile(u) for u in users}


def test_record_membership_keeps_entered_and_left_history(store: Store) -> None:
    p = people(store, "a", "b", "c")
    first = record_membership(store, "vip", [p["a"], p["b"]], at=T0)
    assert first == {"segment": "vip", "size": 2, "entered": 2, "left": 0}
    later = T0 + timedelta(days=1)
    second = record_membership(store, "vip", [p["b"], p["c"]], at=later)
    assert second == {"segment": "vip", "size": 2, "entered": 1, "left": 1}
    assert current_members(store, "vip") == sorted([p["b"], p["c"]])
    history = profile_segments(store, "a")
    assert history == [{"segment": "vip", "entered_at": T0, "left_at": later, "current": False}]
    assert profile_segments(store, "b")[0]["current"] is True
    # Recording the same set again changes nothing.
    assert record_membership(store, "vip", [p["c"], p["b"]], at=later)["entered"] == 0


def test_empty_segment_is_size_zero_not_an_error(store: Store) -> None:
    p = people(store, "a")
    record_membership(store, "s", [p["a"]], at=T0)
    result = record_membership(store, "s", [], at=T0 + timedelta(hours=1))
    assert result == {"segment": "s", "size": 0, "entered": 0, "left": 1}
    assert segment_sizes(store) == {"s": 0}
    assert current_members(store, "s") == []


def test_unknown_member_is_refused_and_nothing_written(store: Store) -> None:
    p = people(store, "a")
    with pytest.raises(InvalidInput, match="not-a-profile"):
        record_membership(store, "s", [p["a"], "not-a-profile"])
    assert segment_sizes(store) == {}


def test_unknown_segment_suggests_close_names(store: Store) -> None:
    p = people(store, "a")
    record_membership(store, "high_spend", [p["a"]])
    with pytest.raises(NotFound, match="high_spend"):
        current_members(store, "high_spnd")


def test_sizes_and_overlaps(store: Store) -> None:
    p = people(store, "a", "b", "c", "d")
    record_membership(store, "x", [p["a"], p["b"], p["c"]])
    record_membership(store, "y", [p["b"], p["c"], p["d"]])
    record_membership(store, "z", [])
    assert segment_sizes(store) == {"x": 3, "y": 3, "z": 0}
    report = overlaps(store, ["x", "y", "z"])
    pairs = {(q["a"], q["b"]): q for q in report["pairs"]}
    assert pairs[("x", "y")]["both"] == 2
    assert pairs[("x", "y")]["jaccard"] == 0.5
    assert pairs[("x", "z")]["both"] == 0
    assert report["sizes"] == {"x": 3, "y": 3, "z": 0}


def test_members_are_canonical_after_a_merge(store: Store) -> None:
    # An anonymous visitor in the segment, later identified: the merged profile counts.
    assert not Ingestor(store).ingest_events([
        {"type": "track", "event": "Product Viewed", "anonymousId": "anon-9",
         "properties": {"product_id": "p"}, "timestamp": "2026-01-01T00:00:00Z",
         "messageId": "m1"},
        {"type": "identify", "userId": "known", "timestamp": "2026-01-02T00:00:00Z",
         "messageId": "m3"}]).rejected
    anon = store.find_profile("anon-9")
    record_membership(store, "browsers", [anon])
    assert not Ingestor(store).ingest_events([
        {"type": "identify", "userId": "u-9", "anonymousId": "anon-9",
         "timestamp": "2026-01-03T00:00:00Z", "messageId": "m2"}]).rejected
    person = store.find_profile("u-9")
    assert current_members(store, "browsers") == [person]
    assert [h["segment"] for h in profile_segments(store, "u-9")] == ["browsers"]
    # Recording with either id is the same person, who stays in: no leaving, no entering.
    again = record_membership(store, "browsers", [anon, person])
    assert again == {"segment": "browsers", "size": 1, "entered": 0, "left": 0}
    assert current_members(store, "browsers") == [person]


def test_snapshot_exports_current_members(store: Store, tmp_path: Path) -> None:
    p = people(store, "a", "b")
    record_membership(store, "x", [p["a"], p["b"]], at=T0)
    record_membership(store, "x", [p["b"]], at=T0 + timedelta(days=1))
    record_membership(store, "y", [p["a"]], at=T0)
    export_snapshot(store, tmp_path / "snap")
    rows = pq.read_table(tmp_path / "snap" / "segment_members.parquet").to_pylist()
    assert sorted((r["segment"], r["profile_id"]) for r in rows) == [
        ("x", p["b"]), ("y", p["a"])]


def test_migration_upgrades_a_0001_database(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    with engine.begin() as conn:
        assert "segments" not in sa.inspect(conn).get_table_names()
    engine.dispose()
    store = Store.open(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        assert current_revision(store.engine) == head_revision()
        p = people(store, "a")
        assert record_membership(store, "s", [p["a"]])["size"] == 1
    finally:
        store.close()
