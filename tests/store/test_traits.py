"""Computed traits written back to profiles, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.tables import counters, profiles
from tailored.store.traits import write_traits
from tailored.store.writes import graph_version

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def upsert_counter(store: Store) -> None:
    with store.transaction() as conn:
        if graph_version(conn) == 0:
            conn.execute(counters.delete())
            conn.execute(counters.insert().values(name="identity_graph", value=0))


def _ingest(store: Store, *raws: dict[str, Any]) -> None:
    report = Ingestor(store).ingest_events(raws)
    assert not report.rejected, report.rejected


def _identify(user: str, at: datetime, traits: dict[str, Any], mid: str) -> dict[str, Any]:
    return {"type": "identify", "userId": user, "messageId": mid,
            "timestamp": at.isoformat(), "traits": traits}


def test_write_traits_sets_scores_that_the_profile_shows(store: Store) -> None:
    _ingest(store, _identify("u1", T0, {"plan": "gold"}, "m1"),
            _identify("u2", T0, {}, "m2"))
    p1, p2 = store.find_profile("u1"), store.find_profile("u2")
    changed = write_traits(store, {p1: {"purchase_propensity": np.float64(0.42),
                                        "rfm_group": "Champions"},
                                   p2: {"churn_risk": 0.9, "orders": np.int64(3)}})
    assert changed == 2
    assert store.profile("u1")["traits"] == {"plan": "gold", "purchase_propensity": 0.42,
                                             "rfm_group": "Champions"}
    assert store.profile("u2")["traits"] == {"churn_risk": 0.9, "orders": 3}


def test_unknown_profile_ids_are_named_and_nothing_is_written(store: Store) -> None:
    _ingest(store, _identify("u1", T0, {}, "m1"))
    p1 = store.find_profile("u1")
    with pytest.raises(InvalidInput, match="'nobody'") as err:
        write_traits(store, {p1: {"clv": 10.0}, "nobody": {"clv": 1.0}})
    assert err.value.field == "profile_id"
    assert store.profile("u1")["traits"] == {}


def test_a_newer_trait_from_an_event_is_not_overwritten_by_an_older_score(
        store: Store) -> None:
    _ingest(store, _identify("u1", T0 + timedelta(days=2), {"tier": "from-app"}, "m1"))
    pid = store.find_profile("u1")
    assert write_traits(store, {pid: {"tier": "computed", "clv": 5.0}}, at=T0) == 1
    assert store.profile("u1")["traits"] == {"tier": "from-app", "clv": 5.0}
    # And a later event wins over a score written before it.
    _ingest(store, _identify("u1", T0 + timedelta(days=3), {"clv": 7.0}, "m2"))
    assert store.profile("u1")["traits"]["clv"] == 7.0


def test_writing_the_same_scores_again_changes_nothing(store: Store) -> None:
    _ingest(store, _identify("u1", T0, {}, "m1"))
    pid = store.find_profile("u1")
    assert write_traits(store, {pid: {"clv": 5.0}}, at=T0) == 1
    assert write_traits(store, {pid: {"clv": 5.0}}, at=T0) == 0
    assert write_traits(store, {pid: {"clv": 6.0}}, at=T0 + timedelta(hours=1)) == 1
    assert store.profile("u1")["traits"] == {"clv": 6.0}


def test_the_same_value_at_a_later_time_writes_nothing_and_keeps_caches(store: Store) -> None:
    # A segment model re-run whose answers did not change (segment rfm run daily) must not
    # rewrite every profile nor tell every process its identity cache is stale.
    _ingest(store, _identify("u1", T0, {}, "m1"))
    pid = store.find_profile("u1")
    assert write_traits(store, {pid: {"rfm_group": "Champions"}}, at=T0) == 1
    with store.reading() as conn:
        before = graph_version(conn)
    assert write_traits(store, {pid: {"rfm_group": "Champions"}},
                        at=T0 + timedelta(days=1)) == 0
    with store.reading() as conn:
        assert graph_version(conn) == before
    assert write_traits(store, {pid: {"rfm_group": "Loyal"}}, at=T0 + timedelta(days=2)) == 1


def test_a_merged_profile_id_passes_its_traits_to_the_survivor(store: Store) -> None:
    _ingest(store,
            {"type": "track", "event": "Product Viewed", "anonymousId": "a1", "messageId": "m1",
             "timestamp": T0.isoformat()})
    anonymous = store.find_profile("a1")
    _ingest(store, {"type": "identify", "userId": "u1", "anonymousId": "a1", "messageId": "m2",
                    "timestamp": (T0 + timedelta(minutes=1)).isoformat()})
    survivor = store.find_profile("u1")
    assert anonymous != survivor
    write_traits(store, {anonymous: {"churn_risk": 0.25}})
    assert store.profile("u1")["traits"] == {"churn_risk": 0.25}


def test_writing_traits_tells_ingest_caches_the_graph_changed(store: Store) -> None:
    _ingest(store, _identify("u1", T0, {}, "m1"))
    with store.reading() as conn:
        before = graph_version(conn)
    write_traits(store, {store.find_profile("u1"): {"clv": 1.0}})
    with store.reading() as conn:
        assert graph_version(conn) == before + 1


def test_a_later_ingest_in_the_same_process_keeps_written_traits(store: Store) -> None:
    # The graph counter as the migration leaves it (the shared PostgreSQL fixture's TRUNCATE
    # empties the counters table too).
    upsert_counter(store)
    ingestor = Ingestor(store)
    ingestor.ingest_events([_identify("u1", T0, {"plan": "gold"}, "m1")])
    write_traits(store, {store.find_profile("u1"): {"clv": 3.0}})
    # The ingestor cached u1's profile; the cache must not write the old traits back.
    ingestor.ingest_events([_identify("u1", T0 + timedelta(hours=1), {"plan": "silver"}, "m2")])
    assert store.profile("u1")["traits"] == {"plan": "silver", "clv": 3.0}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object()])
def test_values_without_a_json_form_are_refused(store: Store, value: Any) -> None:
    _ingest(store, _identify("u1", T0, {}, "m1"))
    pid = store.find_profile("u1")
    with pytest.raises(InvalidInput, match="'clv'") as err:
        write_traits(store, {pid: {"clv": value}})
    assert err.value.field == f"updates.{pid}.clv"
    assert store.profile("u1")["traits"] == {}


def test_a_trait_without_a_name_is_refused(store: Store) -> None:
    _ingest(store, _identify("u1", T0, {}, "m1"))
    with pytest.raises(InvalidInput, match="no name"):
        write_traits(store, {store.find_profile("u1"): {"": 1}})


def test_nothing_to_write_is_not_an_error(store: Store) -> None:
    assert write_traits(store, {}) == 0


class _Base64Codec:
    def encode(self, value: Any) -> Any:
        return "b64:" + base64.b64encode(str(value).encode()).decode()

    def decode(self, value: Any) -> Any:
        return base64.b64decode(value[4:]).decode()


def test_personal_traits_stay_encoded_when_scores_are_added(store_url: str) -> None:
    with Store.open(store_url, codec=_Base64Codec()) as s:
        _ingest(s, _identify("u1", T0, {"email": "ann@example.com"}, "m1"))
        write_traits(s, {s.find_profile("u1"): {"clv": 12.5}})
        assert s.profile("u1")["traits"] == {"email": "ann@example.com", "clv": 12.5}
        with s.reading() as conn:
            stored = conn.scalar(sa.select(profiles.c.traits))
        assert "ann@example.com" not in str(stored) and stored["clv"] == 12.5
