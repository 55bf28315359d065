"""Identity and time edge cases a review found (issue 10, items 8–10), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.tables import events, profiles
from tailored.store.traits import write_traits
from tests.store.test_store_contract import ev, ingest


def _event_profiles(store: Store) -> dict[str, str]:
    with store.reading() as conn:
        return dict(conn.execute(sa.select(events.c.message_id, events.c.profile_id)).all())


# -- 8: trait times compare as times; times before 1970 are refused ---------------------

def test_a_trait_set_in_year_999_does_not_beat_a_later_identify(store: Store) -> None:
    ingest(store, ev("identify", userId="u", traits={"plan": "free"}, at=0))
    # A trait time far in the past (written before events before 1970 were refused, or by a
    # caller's ``at``) is older than any event, whatever its text looks like.
    write_traits(store, {store.find_profile("u"): {"plan": "ancient"}},
                 at=datetime(999, 1, 1, tzinfo=UTC))
    ingest(store, ev("identify", userId="u", traits={"plan": "pro"}, at=10))
    assert store.profile("u")["traits"]["plan"] == "pro"


def test_legacy_unpadded_trait_times_still_compare_as_times(store: Store) -> None:
    ingest(store, ev("identify", userId="u", traits={"plan": "free"}, at=0))
    pid = store.find_profile("u")
    with store.transaction() as conn:  # as the old code wrote a year-999 time
        conn.execute(profiles.update().where(profiles.c.profile_id == pid).values(
            trait_times={"plan": "999-01-01T00:00:00.000000Z"}))
    ingest(store, ev("identify", userId="u", traits={"plan": "pro"}, at=10))
    assert store.profile("u")["traits"]["plan"] == "pro"


@pytest.mark.parametrize(("fields", "field"), [
    ({"timestamp": "1969-12-31T23:59:59Z"}, "timestamp"),
    ({"timestamp": "0999-06-01T00:00:00Z"}, "timestamp"),
    ({"timestamp": None, "originalTimestamp": "1960-01-01T00:00:00Z"}, "originalTimestamp"),
    ({"timestamp": None, "receivedAt": "1969-01-01T00:00:00Z"}, "receivedAt"),
])
def test_an_event_before_1970_is_refused_naming_the_field(
        store: Store, fields: dict[str, object], field: str) -> None:
    raw = ev("track", userId="u")
    raw.update(fields)
    raw = {k: v for k, v in raw.items() if v is not None}
    report = Ingestor(store).ingest_events([raw, ev("track", userId="u")])
    assert report.accepted == 1
    [rejection] = report.rejected
    assert rejection.field == field
    assert "1970" in rejection.reason


def test_a_device_clock_stuck_at_1970_is_corrected_not_refused(store: Store) -> None:
    raw = ev("track", userId="u", originalTimestamp="1970-01-01T00:00:05Z",
             sentAt="1970-01-01T00:00:10Z")
    del raw["timestamp"]
    report = Ingestor(store).ingest_events([raw])
    assert report.accepted == 1 and not report.rejected
    assert datetime.fromisoformat(store.profile("u")["first_seen"]).year >= 2026


# -- 9: an alias holds for the anonymous events it names, whenever they arrive -------------

@pytest.mark.parametrize("same_chunk", [True, False])
def test_an_alias_before_its_anonymous_events_still_stitches_them(
        store: Store, same_chunk: bool) -> None:
    alias = ev("alias", userId="u", previousId="anon-late", at=10)
    later = [ev(anonymousId="anon-late", at=1), ev("page", anonymousId="anon-late", at=2,
                                                    name="Home")]
    if same_chunk:
        ingest(store, alias, *later)
    else:
        ingest(store, alias)
        ingest(store, *later)
    assert store.stats()["profiles"] == 1
    assert store.find_profile("anon-late") == store.find_profile("u")
    assert store.profile("u")["event_count"] == 3


# -- 10: an alias through an anonymous id another user holds moves only that id -----------

@pytest.mark.parametrize("chunk_size", [2000, 1])
def test_alias_through_a_shared_anonymous_id_never_merges_the_other_user(
        store: Store, chunk_size: int) -> None:
    v_identify = ev("identify", userId="v", anonymousId="shared", at=0,
                    traits={"name": "Vic"})
    anon = ev(anonymousId="shared", at=1)
    v_track = ev(userId="v", anonymousId="shared", at=2)
    u_track = ev(userId="u", at=3)
    alias = ev("alias", userId="u", previousId="shared", at=4)
    after = ev(anonymousId="shared", at=5)
    ingest(store, v_identify, anon, v_track, u_track, alias, after, chunk_size=chunk_size)
    u, v = store.find_profile("u"), store.find_profile("v")
    assert u != v
    assert store.stats()["merges"] == 0
    owners = _event_profiles(store)
    # v keeps their identified history; the anonymous id and its anonymous events move.
    assert owners[v_identify["messageId"]] == v and owners[v_track["messageId"]] == v
    assert {owners[m["messageId"]] for m in (anon, u_track, alias, after)} == {u}
    assert store.find_profile("shared") == u
    assert store.profile("v")["traits"] == {"name": "Vic"}
    relinks = [m for m in store.merge_history("u") if m["kind"] == "relink"]
    assert [m["cause"] for m in relinks] == ["alias"]


def test_alias_of_an_anonymous_profile_still_merges_it(store: Store) -> None:
    ingest(store, ev(anonymousId="a", at=0), ev(anonymousId="a", at=1),
           ev(userId="u", at=2))
    ingest(store, ev("alias", userId="u", previousId="a", at=3))
    assert store.stats()["profiles"] == 1
    assert store.profile("u")["event_count"] == 4
