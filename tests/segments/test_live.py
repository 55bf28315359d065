"""Live segments: kept current after each event and as time passes, with Segment
Entered/Exited events and membership history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tailored.errors import InvalidInput, NotFound
from tailored.ingest import Ingestor
from tailored.segments import current_members, define_segment, profile_segments
from tailored.segments.live import due_people, refresh_people, set_live
from tailored.store import Store
from tailored.store.tables import events, segment_due

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NO_RECENT_ORDER = {"all": [{"event": "Order Completed"},
                           {"not": {"event": "Order Completed", "within_days": 30}}]}


def order(user: str, when: datetime, n: int) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": user,
            "timestamp": when.isoformat(), "messageId": f"{user}-o{n}",
            "properties": {"order_id": f"{user}-{n}", "revenue": 10}}


def ingest(store: Store, *docs: dict[str, Any], now: datetime) -> list[str]:
    report = Ingestor(store).ingest_events(list(docs), received_at=now)
    assert not report.rejected, report.rejected
    return sorted({store.find_profile(d.get("userId") or d["anonymousId"]) for d in docs})


def segment_events(store: Store, pid: str) -> list[tuple[str, str, datetime]]:
    with store.reading() as conn:
        rows = conn.execute(sa.select(events.c.event, events.c.properties, events.c.timestamp)
                            .where(events.c.profile_id == pid,
                                   events.c.event.in_(("Segment Entered", "Segment Exited")))
                            .order_by(events.c.timestamp, events.c.id)).all()
    return [(e, p["segment"], t) for e, p, t in rows]


def live_store(store: Store, name: str, rule: Any, now: datetime) -> None:
    define_segment(store, name, rule)
    set_live(store, name, True, now=now)


def test_window_rule_enters_and_exits_as_time_moves(store: Store) -> None:
    live_store(store, "lapsed", NO_RECENT_ORDER, T0)
    (ann,) = ingest(store, order("ann", T0, 1), now=T0)
    assert refresh_people(store, [ann], now=T0) == {"entered": 0, "exited": 0, "checked": 1}
    # Due exactly when the order leaves its 30-day window, not before.
    assert due_people(store, now=T0 + timedelta(days=29)) == []
    later = T0 + timedelta(days=30, seconds=1)
    assert due_people(store, now=later) == [ann]
    assert refresh_people(store, [ann], now=later)["entered"] == 1
    assert current_members(store, "lapsed") == [ann]
    assert due_people(store, now=later + timedelta(days=365)) == []
    # A new order: out again at once.
    again = later + timedelta(days=1)
    ingest(store, order("ann", again, 2), now=again)
    assert refresh_people(store, [ann], now=again)["exited"] == 1
    assert current_members(store, "lapsed") == []
    assert [(e, s) for e, s, _ in segment_events(store, ann)] == [
        ("Segment Entered", "lapsed"), ("Segment Exited", "lapsed")]
    stays = profile_segments(store, ann)
    assert [(r["entered_at"], r["left_at"]) for r in stays] == [(later, again)]


def test_refresh_twice_records_nothing_twice(store: Store) -> None:
    live_store(store, "buyers", {"event": "Order Completed"}, T0)
    (ann,) = ingest(store, order("ann", T0, 1), now=T0)
    assert refresh_people(store, [ann], now=T0)["entered"] == 1
    assert refresh_people(store, [ann], now=T0)["entered"] == 0
    assert len(segment_events(store, ann)) == 1


def test_lost_event_is_sent_by_the_next_refresh(store: Store) -> None:
    """A crash after the membership committed and before its event was sent: the next
    refresh sends it, once."""
    live_store(store, "buyers", {"event": "Order Completed"}, T0)
    (ann,) = ingest(store, order("ann", T0, 1), now=T0)
    refresh_people(store, [ann], now=T0)
    with store.transaction() as conn:
        conn.execute(events.delete().where(events.c.event == "Segment Entered"))
    refresh_people(store, [ann], now=T0 + timedelta(hours=1))
    refresh_people(store, [ann], now=T0 + timedelta(hours=2))
    assert [(e, t) for e, _, t in segment_events(store, ann)] == [("Segment Entered", T0)]


def test_going_live_makes_everyone_due_once(store: Store) -> None:
    define_segment(store, "buyers", {"event": "Order Completed"})
    people = ingest(store, order("ann", T0, 1), order("bob", T0, 1), now=T0)
    assert set_live(store, "buyers", True, now=T0)["due"] == 2
    assert due_people(store, now=T0) == people
    assert refresh_people(store, due_people(store, now=T0), now=T0)["entered"] == 2
    assert due_people(store, now=T0 + timedelta(days=1000)) == []
    off = set_live(store, "buyers", False, now=T0)
    assert off["live"] is False
    with store.reading() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(segment_due)) == 0


def test_live_refused_for_rules_it_cannot_keep(store: Store) -> None:
    define_segment(store, "loop", {"not": {"event": "Segment Entered"}})
    with pytest.raises(InvalidInput, match=r"not\.event reads 'Segment Entered'"):
        set_live(store, "loop", True, now=T0)
    define_segment(store, "instant", {"metric": "recency_days", "=": 30})
    with pytest.raises(InvalidInput, match="recency_days = 30 changes at an instant"):
        set_live(store, "instant", True, now=T0)
    with pytest.raises(NotFound, match="no segment 'nope'"):
        set_live(store, "nope", True, now=T0)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        refresh_people(store, ["x"], now=datetime(2026, 1, 1))


def test_compute_on_a_live_segment_records_events_too(store: Store, tmp_path: Any) -> None:
    from tailored.analytics import opened
    from tailored.segments import compute_segments
    from tailored.store.snapshots import export_snapshot

    live_store(store, "buyers", {"event": "Order Completed"}, T0)
    ann, bob = ingest(store, order("ann", T0, 1), order("bob", T0, 1), now=T0)  # sorted
    export_snapshot(store, tmp_path / "snap")
    with opened(tmp_path / "snap") as source:
        (result,) = compute_segments(store, source, ["buyers"], now=T0 + timedelta(hours=1))
    assert (result["size"], result["entered"], result["left"]) == (2, 2, 0)
    assert [e for e, _, _ in segment_events(store, ann)] == ["Segment Entered"]
    # The live path sees nothing left to do: one history.
    assert refresh_people(store, [ann, bob], now=T0 + timedelta(hours=2))["entered"] == 0
    assert len(segment_events(store, ann)) == len(segment_events(store, bob)) == 1


def test_merge_of_two_members_exits_the_loser(store: Store) -> None:
    live_store(store, "buyers", {"event": "Order Completed"}, T0)
    anon = {"type": "track", "event": "Order Completed", "anonymousId": "device-1",
            "timestamp": T0.isoformat(), "messageId": "anon-o1", "properties": {}}
    (ann,) = ingest(store, order("ann", T0, 1), now=T0)
    (guest,) = ingest(store, anon, now=T0)
    assert refresh_people(store, [ann, guest], now=T0)["entered"] == 2
    later = T0 + timedelta(hours=1)
    alias = {"type": "alias", "userId": "ann", "previousId": "device-1",
             "timestamp": later.isoformat(), "messageId": "alias-1"}
    ingest(store, alias, now=later)
    survivor = store.find_profile("ann")
    assert {survivor} <= {ann, guest}
    loser = guest if survivor == ann else ann
    counts = refresh_people(store, [ann, guest], now=later)
    assert (counts["entered"], counts["exited"]) == (0, 1)
    assert current_members(store, "buyers") == [survivor]
    exits = [(e, s) for e, s, _ in segment_events(store, survivor) if e == "Segment Exited"]
    assert exits == [("Segment Exited", "buyers")]
    with store.reading() as conn:
        props = conn.scalar(sa.select(events.c.properties).where(
            events.c.event == "Segment Exited"))
    assert props == {"segment": "buyers", "merged_from": loser}
    assert refresh_people(store, [loser], now=later)["exited"] == 0


def test_erased_member_leaves_everything(store: Store) -> None:
    live_store(store, "lapsed", NO_RECENT_ORDER, T0)
    both = ingest(store, order("ann", T0, 1), order("bob", T0, 1), now=T0)
    ann, bob = store.find_profile("ann"), store.find_profile("bob")
    refresh_people(store, both, now=T0)
    later = T0 + timedelta(days=31)
    refresh_people(store, due_people(store, now=later), now=later)
    assert current_members(store, "lapsed") == both
    store.erase_person("ann")
    assert current_members(store, "lapsed") == [bob]
    assert refresh_people(store, [ann], now=later) == {"entered": 0, "exited": 0,
                                                        "checked": 0}
    with store.reading() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(segment_due)
                           .where(segment_due.c.profile_id == ann)) == 0


def test_segment_check_on_a_live_segment_records_through_the_live_path(store: Store) -> None:
    from tailored.segments import check_person

    live_store(store, "lapsed", NO_RECENT_ORDER, T0)
    (ann,) = ingest(store, order("ann", T0, 1), now=T0)
    assert check_person(store, "lapsed", "ann", as_of=T0)["change"] is None
    later = T0 + timedelta(days=31)
    result = check_person(store, "lapsed", "ann", as_of=later)
    assert (result["member"], result["was_member"], result["change"]) == (True, False,
                                                                           "entered")
    assert [e for e, _, _ in segment_events(store, ann)] == ["Segment Entered"]
    assert check_person(store, "lapsed", "ann", as_of=later)["change"] is None


def test_redefining_a_live_segment_checks_the_new_rule_and_reevaluates(store: Store) -> None:
    from tailored.segments import get_segment

    live_store(store, "buyers", {"event": "Order Completed"}, T0)
    (ann,) = ingest(store, order("ann", T0, 1), now=T0)
    refresh_people(store, [ann], now=T0)
    assert due_people(store, now=T0 + timedelta(days=3650)) == []
    with pytest.raises(InvalidInput, match="cannot be live"):
        define_segment(store, "buyers", {"not": {"event": "Segment Exited"}})
    assert get_segment(store, "buyers")["definition"] == {"event": "Order Completed"}
    later = T0 + timedelta(days=1)
    redefined = define_segment(store, "buyers", {"event": "Order Completed",
                                                 "within_days": 7}, now=later)
    assert redefined["live"] is True
    assert due_people(store, now=later) == [ann]
    assert refresh_people(store, [ann], now=later)["exited"] == 0
    assert due_people(store, now=T0 + timedelta(days=7, seconds=1)) == [ann]
    off = define_segment(store, "buyers", {"event": "Order Completed"}, live=False)
    assert off["live"] is False and due_people(store, now=later) == []
