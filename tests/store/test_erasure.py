"""Erasure finds every person an id names and refuses to guess, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tailored.errors import AmbiguousPerson, NotFound
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.personal import PersonalCodec

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_counter = iter(range(1_000_000))
TABLES = {"events", "identities", "merges", "edges", "segment_membership", "segment_due",
          "live_profiles", "webhook_deliveries", "suppressions", "consents", "outbox",
          "inbox_messages", "push_subscriptions", "coupons", "profiles"}


def ev(kind: str = "track", *, at: int = 0, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "messageId": f"x{next(_counter)}",
                            "timestamp": (T0 + timedelta(minutes=at)).isoformat()}
    if kind == "track":
        body["event"] = "Product Viewed"
    body.update(fields)
    return body


def ingest(store: Store, *raws: dict[str, Any]) -> None:
    report = Ingestor(store).ingest_events(raws)
    assert not report.rejected, report.rejected


def ann_and_mallory(store: Store) -> tuple[str, str]:
    """Ann identifies with her e-mail; later Mallory sends an identify carrying it too, which
    moves the e-mail identity to Mallory (the newer link). Ann keeps it as a trait."""
    ingest(store,
           ev("identify", userId="ann", traits={"email": "Ann@Example.com", "name": "Ann"}),
           ev(userId="ann", at=1),
           ev("identify", userId="mallory", traits={"email": "ann@example.com"}, at=5),
           ev(userId="mallory", at=6))
    return store.find_profile("ann"), store.find_profile("mallory")


def test_erase_by_email_held_by_two_people_refuses_and_erases_nothing(store: Store) -> None:
    ann, mallory = ann_and_mallory(store)
    assert store.find_profile("ann@example.com") == mallory  # the link went to Mallory
    with pytest.raises(AmbiguousPerson) as caught:
        store.erase_person("ann@example.com")
    assert {(m["profile_id"], m["matched_by"]) for m in caught.value.matches} == {
        (ann, "email"), (mallory, "email")}
    assert ann in str(caught.value) and mallory in str(caught.value)
    assert "--all-matches" in str(caught.value)
    assert store.stats()["events"] == 4 and store.stats()["profiles"] == 2


def test_erase_all_matches_erases_everyone_and_sums_rows(store: Store) -> None:
    ann, mallory = ann_and_mallory(store)
    ingest(store, ev(userId="bystander"))
    out = store.erase_person("ANN@example.com ", all_matches=True)
    assert set(out) == {"profile_id", "matched_by", "rows", "erased"}
    assert out["matched_by"] == "email"
    assert {e["profile_id"] for e in out["erased"]} == {ann, mallory}
    assert all(set(e) == {"profile_id", "rows"} and set(e["rows"]) == TABLES
               for e in out["erased"])
    assert set(out["rows"]) == TABLES
    for table in TABLES:
        assert out["rows"][table] == sum(e["rows"][table] for e in out["erased"])
    assert out["rows"]["events"] == 4 and out["rows"]["profiles"] == 2
    for who in ("ann", "mallory", "ann@example.com"):
        with pytest.raises(NotFound):
            store.find_profile(who)
    assert store.stats()["events"] == 1


def test_email_used_as_a_user_id_is_a_second_match(store: Store) -> None:
    ingest(store, ev("identify", userId="ann", traits={"email": "ann@example.com"}),
           ev(userId="Ann@Example.com", at=3))
    ann, squatter = store.find_profile("ann"), store.find_profile("Ann@Example.com")
    assert ann != squatter
    matches = {m.profile_id: m.matched_by for m in store.find_people("ann@example.com")}
    assert matches == {ann: "email", squatter: "user_id"}
    with pytest.raises(AmbiguousPerson):
        store.erase_person("ann@example.com")
    # The profile id always names exactly one person.
    out = store.erase_person(ann)
    assert out["matched_by"] == "profile_id" and out["profile_id"] == ann
    assert store.find_profile("Ann@Example.com") == squatter


def test_erase_by_email_only_one_person_holds(store: Store) -> None:
    ingest(store, ev("identify", userId="u", anonymousId="a", traits={"email": "e@x.io"}),
           ev(userId="other", at=1))
    pid = store.find_profile("u")
    out = store.erase_person("E@x.io")
    assert (out["profile_id"], out["matched_by"]) == (pid, "email")
    assert [e["profile_id"] for e in out["erased"]] == [pid]
    assert out["rows"]["events"] == 1 and out["rows"]["identities"] == 3


@pytest.mark.parametrize(("name", "kind"), [("u", "user_id"), ("anon", "anonymous_id"),
                                            ("tv-9", "device_id"), ("u@x.io", "email")])
def test_every_look_up_names_the_kind_of_id(store: Store, name: str, kind: str) -> None:
    ingest(store, ev("identify", userId="u", anonymousId="anon", traits={"email": "u@x.io"},
                     context={"device": {"id": "tv-9", "type": "tv"}}))
    pid = store.find_profile("u")
    assert store.lookup(name).matched_by == kind
    assert store.profile(name)["matched_by"] == kind
    assert store.lookup(pid).matched_by == "profile_id"
    assert store.erase_person(name)["matched_by"] == kind


def test_erased_people_are_forgotten_by_the_ingest_cache(store: Store) -> None:
    ingestor = Ingestor(store)
    assert not ingestor.ingest_events([ev("identify", userId="x", anonymousId="ax")]).rejected
    old = store.find_profile("x")
    store.erase_person("x")
    assert not ingestor.ingest_events([ev(userId="x", at=1), ev(anonymousId="ax", at=2)]).rejected
    fresh = store.profile("x")
    assert fresh["profile_id"] != old and fresh["event_count"] == 1
    assert store.profile("ax")["profile_id"] != old
    assert store.erase_person("x")["profile_id"] == fresh["profile_id"]


class _Reversing:
    """A codec whose stored form is unlike the value, as an encrypting one's is."""

    def encode(self, value: Any) -> Any:
        return value[::-1] if isinstance(value, str) else value

    def decode(self, value: Any) -> Any:
        return value[::-1] if isinstance(value, str) else value


def test_email_traits_are_found_through_the_codec(store_url: str) -> None:
    codec: PersonalCodec = _Reversing()
    with Store.open(store_url, codec=codec) as store:
        ann, mallory = ann_and_mallory(store)
        found = {m.profile_id: (m.matched_by, m.via) for m in store.find_people("ann@example.com")}
        assert found == {ann: ("email", "trait"), mallory: ("email", "identity")}
