"""The store's behaviour, the same on SQLite and PostgreSQL (one suite, both backends)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from tailored.catalog import Edge, Item
from tailored.errors import InvalidInput, NotFound
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.snapshot_files import read_snapshot_table
from tailored.store.snapshots import export_snapshot
from tailored.store.tables import events, identities, profiles

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_counter = iter(range(1_000_000))


def ev(kind: str = "track", *, at: int = 0, **fields: Any) -> dict[str, Any]:
    """An event ``at`` minutes after T0 with a fresh messageId unless one is given."""
    body: dict[str, Any] = {"type": kind, "messageId": f"m{next(_counter)}",
                            "timestamp": (T0 + timedelta(minutes=at)).isoformat()}
    if kind == "track":
        body["event"] = "Product Viewed"
    body.update(fields)
    return body


def device(device_id: str, kind: str = "ios") -> dict[str, Any]:
    return {"device": {"id": device_id, "type": kind}}


def ingest(store: Store, *raws: dict[str, Any], chunk_size: int = 2000) -> Any:
    report = Ingestor(store, chunk_size=chunk_size).ingest_events(raws)
    assert not report.rejected, report.rejected
    return report


def test_ingest_stores_each_message_once_and_counts_duplicates(store: Store) -> None:
    e = ev(userId="u1", messageId="same")
    first = ingest(store, e, ev(userId="u1"))
    again = ingest(store, e, e)
    stats = store.stats()
    assert (first.accepted, again.accepted, again.duplicates) == (2, 0, 2)
    assert stats["events"] == 2
    assert stats["duplicates"] == 2
    assert stats["profiles"] == 1


def test_identify_merges_anonymous_history_into_the_user(store: Store) -> None:
    ingest(store,
           ev(anonymousId="a-phone", context=device("phone"), at=0),
           ev(anonymousId="a-phone", context=device("phone"), at=1),
           ev("identify", userId="u1", anonymousId="a-phone", at=2,
              traits={"email": "  Ann@Example.COM "}))
    p = store.profile("u1")
    assert p["event_count"] == 3
    kinds = {(i["kind"], i["value"]) for i in p["identities"]}
    assert kinds == {("user_id", "u1"), ("anonymous_id", "a-phone"), ("device_id", "phone"),
                     ("email", "ann@example.com")}
    assert store.find_profile("ANN@example.com ") == p["profile_id"]
    assert store.find_profile("a-phone") == p["profile_id"]
    assert store.stats()["merges"] == 1
    [merge] = store.merge_history("u1")
    assert merge["cause"] == "identify" and merge["identity"]["value"] == "a-phone"


def test_same_person_on_four_devices_ends_on_one_profile(store: Store) -> None:
    raws = []
    for n, (dev, plat) in enumerate([("ph", "ios"), ("tab", "android"), ("tv", "tv")]):
        raws.append(ev(anonymousId=f"anon-{dev}", context=device(dev, plat), at=10 * n))
        raws.append(ev("identify", userId="u1", anonymousId=f"anon-{dev}",
                       context=device(dev, plat), at=10 * n + 1))
    raws.append(ev("page", anonymousId="anon-web", name="Home", at=40,
                    context={"library": {"name": "analytics.js"}}))
    raws.append(ev("identify", userId="u1", anonymousId="anon-web", at=41,
                   context={"library": {"name": "analytics.js"}}))
    ingest(store, *raws)
    p = store.profile("anon-web")
    assert p["event_count"] == len(raws)
    assert set(p["platforms"]) == {"ios", "android", "tv", "web"}
    assert {d["device_id"] for d in p["devices"]} == {"ph", "tab", "tv"}
    assert store.stats()["profiles"] == 1


def test_shared_tv_never_merges_two_users(store: Store) -> None:
    tv = device("family-tv", "tv")
    ingest(store,
           ev(userId="alice", anonymousId="tv-anon", context=tv, at=0),
           ev(userId="alice", anonymousId="tv-anon", context=tv, at=1),
           ev(userId="bob", anonymousId="tv-anon", context=tv, at=60),
           ev(anonymousId="tv-anon", context=tv, at=61))
    alice, bob = store.profile("alice"), store.profile("bob")
    assert alice["profile_id"] != bob["profile_id"]
    assert alice["event_count"] == 2  # Alice keeps her own history
    assert bob["event_count"] == 2  # the anonymous event goes to whoever was seen last
    assert store.find_profile("family-tv") == bob["profile_id"]
    stats = store.stats()
    assert stats["merges"] == 0 and stats["relinks"] == 2  # device and anonymous id moved


def test_older_event_does_not_take_a_shared_device_back(store: Store) -> None:
    tv = device("tv1", "tv")
    ingest(store, ev(userId="bob", context=tv, at=60), ev(userId="alice", context=tv, at=0))
    assert store.find_profile("tv1") == store.find_profile("bob")
    assert store.profile("alice")["event_count"] == 1


def test_only_alias_merges_two_identified_users(store: Store) -> None:
    ingest(store, ev(userId="old-id", at=0), ev(userId="new-id", at=1))
    assert store.stats()["profiles"] == 2
    ingest(store, ev("alias", userId="new-id", previousId="old-id", at=2))
    assert store.stats()["profiles"] == 1
    assert store.find_profile("old-id") == store.find_profile("new-id")
    assert store.profile("new-id")["event_count"] == 3
    history = store.merge_history("new-id")
    assert [m["cause"] for m in history if m["kind"] == "merge"] == ["alias"]


def test_merges_of_merges_keep_every_event_and_old_profile_ids(store: Store) -> None:
    ingest(store, ev(anonymousId="a1", at=0), ev(anonymousId="a2", at=1))
    old_a1, old_a2 = store.find_profile("a1"), store.find_profile("a2")
    # a1 and a2 meet on one device, then the person logs in: three profiles become one.
    ingest(store, ev(anonymousId="a1", context=device("d"), at=2),
           ev(anonymousId="a2", context=device("d"), at=3),
           ev("identify", userId="u", anonymousId="a1", at=4))
    pid = store.find_profile("u")
    assert store.find_profile(old_a1) == pid and store.find_profile(old_a2) == pid
    assert store.profile("u")["event_count"] == 5
    assert store.stats()["profiles"] == 1


def test_stitching_is_the_same_across_chunk_boundaries(store: Store) -> None:
    raws = [ev(anonymousId=f"a{i % 3}", context=device(f"d{i % 3}"), at=i) for i in range(9)]
    raws += [ev("identify", userId="u", anonymousId=f"a{i}", at=20 + i) for i in range(3)]
    ingest(store, *raws, chunk_size=2)
    assert store.stats()["profiles"] == 1
    assert store.profile("d2")["event_count"] == 12


def test_traits_merge_last_write_wins_by_event_time(store: Store) -> None:
    # Arrival order is the reverse of event order: event time must decide.
    ingest(store,
           ev("identify", userId="u", traits={"plan": "pro", "city": "Oslo"}, at=10),
           ev("identify", userId="u", traits={"plan": "free", "age": 30}, at=5))
    traits = store.profile("u")["traits"]
    assert traits == {"plan": "pro", "city": "Oslo", "age": 30}


def test_anonymous_traits_survive_a_merge_by_event_time(store: Store) -> None:
    ingest(store,
           ev("identify", anonymousId="a", traits={"email": "x@y.io", "newsletter": True},
              at=0),
           ev("identify", userId="u", traits={"newsletter": False}, at=5),
           ev("identify", userId="u", anonymousId="a", at=6))
    traits = store.profile("x@y.io")["traits"]
    assert traits == {"email": "x@y.io", "newsletter": False}


def test_erase_person_removes_everything_in_one_operation(store: Store) -> None:
    ingest(store, ev(anonymousId="a", at=0), ev("identify", userId="u", anonymousId="a",
                                                   traits={"email": "e@x.io"}, at=1),
           ev(userId="other", at=2))
    store.upsert_edges([Edge(src="u", dst="other"), Edge(src="other", dst="u")])
    from tailored.segments.membership import current_members, record_membership

    record_membership(store, "vip", [store.find_profile("u"), store.find_profile("other")])
    deleted = store.erase_person("e@x.io")["rows"]
    assert deleted["events"] == 2 and deleted["edges"] == 2 and deleted["profiles"] == 2
    assert deleted["segment_membership"] == 1
    assert current_members(store, "vip") == [store.find_profile("other")]
    with pytest.raises(NotFound):
        store.find_profile("u")
    with pytest.raises(NotFound):
        store.find_profile("a")
    stats = store.stats()
    assert stats["events"] == 1 and stats["profiles"] == 1 and stats["merges"] == 0


def test_strict_ingest_with_a_bad_event_writes_nothing(store: Store) -> None:
    report = Ingestor(store, chunk_size=2).ingest_events(
        [ev(userId="u", at=i) for i in range(5)] + [{"type": "track", "userId": "u"}],
        strict=True)
    assert report.rolled_back and report.accepted == 0
    assert [r.field for r in report.rejected] == ["event"]
    assert store.stats()["events"] == 0 and store.stats()["profiles"] == 0


def test_items_and_edges_upsert_by_key(store: Store) -> None:
    store.upsert_items([Item(item_id="i1", title="Mug", category="Home > Kitchen", price=9.5,
                             currency="eur", tags="red|ceramic")])
    store.upsert_items([Item(item_id="i1", title="Big mug", available=False)])
    item = store.get_item("i1")
    assert item["title"] == "Big mug" and item["available"] is False
    store.upsert_edges([Edge(src="a", dst="b", weight=2), Edge(src="a", dst="b", weight=3),
                        Edge(src="a", dst="b", kind="follow")])
    assert store.stats()["items"] == 1 and store.stats()["edges"] == 2
    with pytest.raises(NotFound):
        store.get_item("nope")


def test_keys_are_hashed_scoped_and_revocable(store: Store) -> None:
    key = store.create_key("read", name="dashboard")
    assert store.key_scope(key) == "read" and store.key_scope(key + "x") is None
    with store.reading() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalar_one()
    assert key not in stored
    assert store.revoke_key(key[:8]) == 1 and store.key_scope(key) is None
    with pytest.raises(InvalidInput):
        store.create_key("root")  # type: ignore[arg-type]


def test_profiles_lists_busiest_first(store: Store) -> None:
    ingest(store, *[ev(userId="busy", at=i) for i in range(5)], ev(userId="calm"))
    listed = store.profiles(10)
    assert [p["user_id"] for p in listed] == ["busy", "calm"]
    assert listed[0]["event_count"] == 5


def test_snapshot_exports_events_interactions_and_catalog(store: Store, tmp_path: Path) -> None:
    store.upsert_items([Item(item_id="p1", title="Lamp", category=["Home"])])
    store.upsert_edges([Edge(src="u", dst="v")])
    ingest(store,
           ev(userId="u", properties={"product_id": "p1", "price": 20}),
           ev(userId="u", event="Order Completed", properties={"order_id": "o1", "products": [
               {"product_id": "p1", "quantity": 2, "price": 20}, {"product_id": "p2"}]}),
           ev(userId="v", event="Product Rated", properties={"product_id": "p1", "rating": 4}),
           ev("identify", userId="u", traits={"email": "u@x.io"}))
    manifest = export_snapshot(store, tmp_path / "snap")
    assert manifest["tables"] == {"events": 4, "interactions": 4, "profiles": 2,
                                  "identities": 3, "items": 1, "edges": 1,
                                  "segment_members": 0}
    inter = read_snapshot_table(tmp_path / "snap", "interactions").to_pylist()
    order = [r for r in inter if r["event"] == "Order Completed"]
    assert {r["item_id"] for r in order} == {"p1", "p2"}
    assert [r["value"] for r in order if r["item_id"] == "p1"] == [40.0]
    assert [r["rating"] for r in inter if r["signal"] == "rating"] == [4.0]
    edge = pq.read_table(tmp_path / "snap" / "edges.parquet").to_pylist()[0]
    assert edge["src_profile"] == store.find_profile("u") and edge["dst_profile"] is not None


class _Rot13ish:
    """A reversible stand-in for encryption, to prove every personal field passes through."""

    def encode(self, value: Any) -> Any:
        return "enc:" + base64.b64encode(str(value).encode()).decode()

    def decode(self, value: Any) -> Any:
        return base64.b64decode(value[4:]).decode() if str(value).startswith("enc:") else value


def test_personal_fields_reach_the_database_only_through_the_codec(store_url: str) -> None:
    store = Store.open(store_url, codec=_Rot13ish())
    try:
        ingest(store, ev("identify", userId="u", traits={"email": "Secret@Mail.io",
                                                          "phone": "+47 555", "plan": "pro"},
                         context={"ip": "10.1.2.3", "traits": {"name": "Ann Secret"}}))
        with store.reading() as conn:
            dump = " ".join(str(tuple(r)) for t in (events, identities, profiles)
                            for r in conn.execute(sa.select(t)))
        for secret in ("secret@mail.io", "Secret@Mail.io", "+47 555", "10.1.2.3", "Ann Secret"):
            assert secret not in dump
        assert "pro" in dump  # not personal: stored as is
        p = store.profile("secret@mail.io")
        assert p["traits"]["email"] == "Secret@Mail.io" and p["traits"]["phone"] == "+47 555"
        assert {"kind": "email", "value": "secret@mail.io"} in p["identities"]
    finally:
        store.close()


def test_a_writer_never_acts_on_links_another_writer_has_changed(store: Store) -> None:
    first, second = Ingestor(store), Ingestor(store)
    assert not first.ingest_events([ev(anonymousId="a", context=device("d"), at=0)]).rejected
    # Another writer (another process in real life) identifies the person and moves the
    # device on to someone else; the first writer's memory of the graph is now stale.
    assert not second.ingest_events([
        ev("identify", userId="u", anonymousId="a", at=1),
        ev(userId="v", context=device("d"), at=2),
    ]).rejected
    assert not first.ingest_events([ev(anonymousId="a", at=3),
                                    ev(anonymousId="fresh", context=device("d"), at=4)]).rejected
    assert store.profile("u")["event_count"] == 3
    assert store.find_profile("fresh") == store.find_profile("v")
