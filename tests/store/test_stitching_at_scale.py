"""Stitching gives the same people however a stream is chunked and cached, and a merge
moves only the loser's nodes (the index behind linear-time merges)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tailored.events import validate_event
from tailored.identity import IdentityGraph
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.tables import events, identities, profiles

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _stream(seed: int, n_people: int = 40, sessions: int = 400) -> list[dict[str, Any]]:
    """People on several devices: anonymous browsing then a login (a merge), logged-in
    sessions, shared TVs (relinks), aliases and re-deliveries, in shuffled arrival order."""
    r = random.Random(seed)
    devices = {p: [f"anon-{p}-0"] for p in range(n_people)}
    tvs = [f"tv-{k}" for k in range(5)]
    out: list[dict[str, Any]] = []
    k = 0

    def emit(**body: Any) -> None:
        nonlocal k
        k += 1
        t = T0 + timedelta(minutes=r.randrange(100_000))
        out.append({"messageId": f"m{k}", "timestamp": t.isoformat(), **body})

    for _ in range(sessions):
        p = r.randrange(n_people)
        user = f"user-{p}"
        roll = r.random()
        if roll < 0.4:  # a new device: anonymous, then a login
            anon = f"anon-{p}-{len(devices[p])}"
            devices[p].append(anon)
            for _ in range(r.randint(1, 4)):
                emit(type="track", event="Product Viewed", anonymousId=anon)
            emit(type="identify", userId=user, anonymousId=anon, traits={"n": r.random()})
        elif roll < 0.8:
            anon = r.choice(devices[p])
            emit(type="identify", userId=user, anonymousId=anon)
            for _ in range(r.randint(1, 4)):
                emit(type="track", event="Product Viewed", userId=user, anonymousId=anon)
        elif roll < 0.95:
            emit(type="track", event="Video Played", userId=user,
                 context={"device": {"id": r.choice(tvs), "type": "tv"}})
        else:
            emit(type="alias", userId=user, previousId=f"old-{p}")
            emit(type="track", event="Product Viewed", userId=f"old-{p}")
    r.shuffle(out)
    out += r.sample(out, len(out) // 50)  # re-deliveries
    return out


def _people(store: Store) -> set[frozenset[str]]:
    """Who is one person: the message ids of each live profile's events."""
    with store.reading() as conn:
        by_profile: dict[str, set[str]] = {}
        for mid, pid in conn.execute(sa.select(events.c.message_id, events.c.profile_id)):
            by_profile.setdefault(pid, set()).add(mid)
        live = set(conn.scalars(sa.select(profiles.c.profile_id)
                                .where(profiles.c.merged_into.is_(None))))
        linked = set(conn.scalars(sa.select(identities.c.profile_id)))
    assert set(by_profile) <= live, "an event on a profile that was merged away"
    assert linked <= live, "an identity on a profile that was merged away"
    return {frozenset(mids) for mids in by_profile.values()}


def test_chunking_and_a_tiny_cache_give_the_same_people(store_url: str, tmp_path: Any
                                                        ) -> None:
    raws = _stream(seed=3)
    expected = None
    for i, (chunk, limit) in enumerate([(100_000, 300_000), (37, 300_000), (37, 25),
                                        (5, 3)]):
        url = store_url if i == 0 or not store_url.startswith("sqlite") else \
            f"sqlite:///{tmp_path / f'store{i}.db'}"
        with Store.open(url) as store:
            if i and not url.startswith("sqlite"):
                _empty(store)
            ingestor = Ingestor(store, chunk_size=chunk)
            ingestor._cache.limit = limit
            report = ingestor.ingest_events(raws)
            assert not report.rejected
            people = _people(store)
        if expected is None:
            expected = people
            assert report.merges > 50 and report.relinks > 0
        assert people == expected, (chunk, limit)


def _empty(store: Store) -> None:
    from tailored.store.tables import metadata
    with store.transaction() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        conn.exec_driver_sql("INSERT INTO counters (name, value) VALUES ('identity_graph', 0)")


def test_a_merge_moves_only_the_losers_nodes() -> None:
    graph = IdentityGraph(nodes={}, profiles={}, now=T0)
    received = T0 + timedelta(days=400)
    raws = _stream(seed=5, n_people=30, sessions=300)
    for raw in raws:
        graph.resolve(validate_event(raw, received_at=received))
        # The index from profile to nodes is exact after every step.
    for node, state in graph.nodes.items():
        assert node in graph.members(state.profile_id)
    assert sum(len(graph.members(p)) for p in graph.profiles) == len(graph.nodes)
    merged = [m for m in graph.merges if m.kind == "merge"]
    assert merged and all(not graph.members(m.from_profile) for m in merged)
    # A further merge marks the loser's nodes, and no others, as changed.
    loser = graph.resolve(validate_event(
        {"type": "track", "event": "x", "anonymousId": "brand-new", "messageId": "z1",
         "context": {"device": {"id": "dev-new"}}, "timestamp": T0.isoformat()},
        received_at=received))
    for state in graph.nodes.values():
        state.dirty = False
    graph.resolve(validate_event(
        {"type": "identify", "userId": "user-1", "anonymousId": "brand-new",
         "messageId": "z2", "timestamp": T0.isoformat()}, received_at=received))
    winner = graph.canonical(loser)
    assert winner != loser
    assert {n for n, s in graph.nodes.items() if s.dirty} == {
        ("anonymous_id", "brand-new"), ("device_id", "dev-new")}


def _statements_for_merges(store: Store, n: int) -> int:
    """Statements one chunk takes to commit ``n`` merges of stored anonymous profiles."""
    first = [{"type": "track", "event": "x", "anonymousId": f"a{n}-{i}",
              "messageId": f"a{n}-{i}", "timestamp": T0.isoformat()} for i in range(n)]
    Ingestor(store).ingest_events(first)
    logins = [{"type": "identify", "userId": f"u{n}-{i}", "anonymousId": f"a{n}-{i}",
               "messageId": f"i{n}-{i}", "timestamp": (T0 + timedelta(hours=1)).isoformat()}
              for i in range(n)]
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    sa.event.listen(store.engine, "before_cursor_execute", counted)
    try:
        report = Ingestor(store).ingest_events(logins)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", counted)
    assert report.merges == n
    return count


def test_a_chunk_moves_history_in_the_same_statements_for_1_or_200_merges(store: Store
                                                                          ) -> None:
    # Three UPDATEs a merge made a chunk of logins cost a round of statements per person.
    assert _statements_for_merges(store, 200) == _statements_for_merges(store, 1)
