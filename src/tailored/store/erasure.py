"""Erasing people: every row of every table that holds them, in one transaction.

A person is a canonical profile with the profiles merged into it. Their events, identities,
merge records, social edges (by their user ids), segment history and profile rows go
together; the identity-graph version goes up in the same transaction, so every process that
cached the graph (a running server's ingestor) drops it before its next write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tailored.errors import AmbiguousPerson
from tailored.store.changes import mark_history_changed
from tailored.store.lookup import Match, every_match
from tailored.store.personal import PersonalData
from tailored.store.tables import (
    consents,
    coupons,
    edges,
    events,
    identities,
    inbox_messages,
    live_profiles,
    merges,
    outbox,
    profiles,
    push_subscriptions,
    realtime_positions,
    segment_due,
    segment_membership,
    suppressions,
    webhook_deliveries,
)
from tailored.store.writes import invalidate_graph

__all__ = ["ERASED_TABLES", "WAL_WAIT_SECONDS", "Erasure", "erase_matches", "erase_profile",
           "people_to_erase", "truncate_wal"]

# Every table that holds a person, in the order they are emptied of them.
ERASED_TABLES = ("events", "identities", "merges", "edges", "segment_membership",
                 "segment_due", "live_profiles", "webhook_deliveries", "suppressions",
                 "consents", "outbox", "inbox_messages", "push_subscriptions", "coupons",
                 "profiles")


def people_to_erase(conn: sa.Connection, identifier: str, personal: PersonalData, *,
                    all_matches: bool = False) -> list[Match]:
    """The profiles an erasure of ``identifier`` would remove; refuses an ambiguous string
    (several people hold it) unless ``all_matches``."""
    matches = every_match(conn, identifier, personal)
    if len(matches) > 1 and not all_matches:
        listed = "; ".join(m.describe() for m in matches)
        raise AmbiguousPerson(
            f"{identifier!r} names {len(matches)} people: {listed}. Nothing was erased: erase "
            "one by its profile id, or all of them with --all-matches (HTTP: "
            "?all_matches=true)",
            [{"profile_id": m.profile_id, "matched_by": m.matched_by, "via": m.via}
             for m in matches])
    return matches


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: ``answer`` for the caller (the erase command's JSON), and
    ``ids``, every id the erased people were known by (profile ids, merged ones included,
    and identity values): what models and caches outside the store key them by."""

    answer: dict[str, Any]
    ids: frozenset[str]


def erase_profile(conn: sa.Connection, pid: str, personal: PersonalData,
                  known_as: set[str] | None = None) -> dict[str, int]:
    """Delete one canonical profile and everything that holds it; rows deleted per table.
    The ids it was known by are added to ``known_as``."""
    pids = [pid, *conn.scalars(sa.select(profiles.c.profile_id)
                               .where(profiles.c.merged_into == pid))]
    nodes = [(kind, personal.reveal_identity(kind, value)) for kind, value in conn.execute(
        sa.select(identities.c.kind, identities.c.value).where(identities.c.profile_id == pid))]
    user_ids = [value for kind, value in nodes if kind == "user_id"]
    if known_as is not None:
        known_as.update(pids)
        known_as.update(value for _, value in nodes)
    # Snapshots must rebuild the days this person's history lay on.
    mark_history_changed(conn, pids)
    statements = {
        "events": events.delete().where(events.c.profile_id.in_(pids)),
        "identities": identities.delete().where(identities.c.profile_id.in_(pids)),
        "merges": merges.delete().where(sa.or_(merges.c.from_profile.in_(pids),
                                               merges.c.into_profile.in_(pids))),
        "edges": edges.delete().where(sa.or_(edges.c.src.in_(user_ids),
                                             edges.c.dst.in_(user_ids))),
        "segment_membership": segment_membership.delete().where(
            segment_membership.c.profile_id.in_(pids)),
        "segment_due": segment_due.delete().where(segment_due.c.profile_id.in_(pids)),
        "live_profiles": live_profiles.delete().where(live_profiles.c.profile_id.in_(pids)),
        # Queued webhook deliveries carry the person's events: never sent after an erasure.
        "webhook_deliveries": webhook_deliveries.delete().where(
            webhook_deliveries.c.profile_id.in_(pids)),
        "suppressions": suppressions.delete().where(suppressions.c.profile_id.in_(pids)),
        "consents": consents.delete().where(consents.c.profile_id.in_(pids)),
        # Messages queued for them are never sent; what was sent to them is forgotten.
        "outbox": outbox.delete().where(outbox.c.profile_id.in_(pids)),
        "inbox_messages": inbox_messages.delete().where(inbox_messages.c.profile_id.in_(pids)),
        "push_subscriptions": push_subscriptions.delete().where(
            push_subscriptions.c.profile_id.in_(pids)),
        "coupons": coupons.delete().where(coupons.c.profile_id.in_(pids)),
        "profiles": profiles.delete().where(profiles.c.profile_id.in_(pids)),
    }
    return {table: int(conn.execute(statements[table]).rowcount) for table in ERASED_TABLES}


def erase_matches(conn: sa.Connection, matches: list[Match], personal: PersonalData
                  ) -> Erasure:
    """Erase the matched people; the answer names the first match and sums rows over all."""
    known_as: set[str] = set()
    per_profile = [(m.profile_id, erase_profile(conn, m.profile_id, personal, known_as))
                   for m in matches]
    invalidate_graph(conn)
    clamp_positions(conn)
    rows = {table: sum(r[table] for _, r in per_profile) for table in ERASED_TABLES}
    answer = {"profile_id": matches[0].profile_id, "matched_by": matches[0].matched_by,
              "rows": rows,
              "erased": [{"profile_id": pid, "rows": r} for pid, r in per_profile]}
    return Erasure(answer, frozenset(known_as))


def clamp_positions(conn: sa.Connection) -> None:
    """Keep real-time consumers' positions at or below the highest event and merge ids left.

    SQLite gives a deleted highest id to the next row: a position above it would skip that
    row. (PostgreSQL's sequences never give an id twice; nothing to do there.)
    """
    if conn.dialect.name != "sqlite":
        return
    top_event = conn.scalar(sa.select(sa.func.max(events.c.id))) or 0
    top_merge = conn.scalar(sa.select(sa.func.max(merges.c.id))) or 0
    for row in conn.execute(sa.select(realtime_positions)).all():
        seen = [[a, min(b, top_event)] for a, b in row.event_seen or [] if a <= top_event]
        merges_seen = [[a, min(b, top_merge)] for a, b in row.merge_seen or []
                       if a <= top_merge]
        conn.execute(realtime_positions.update()
                     .where(realtime_positions.c.consumer == row.consumer)
                     .values(event_pos=min(int(row.event_pos), top_event), event_seen=seen,
                             merge_pos=min(int(row.merge_pos), top_merge),
                             merge_seen=merges_seen))


# How long an erase waits for readers to let go of the SQLite write-ahead log.
WAL_WAIT_SECONDS = 10.0


def truncate_wal(engine: sa.Engine, *, wait_seconds: float | None = None) -> str | None:
    """Copy SQLite's write-ahead log into the database and truncate it to nothing.

    Until then the log holds the pages as they were before an erase, the person's rows
    included (``secure_delete`` zeroes them in the database file only). A reader still on an
    older snapshot holds the log: this retries until ``wait_seconds`` have passed. Returns
    None when done (and on PostgreSQL, which has no such file), else why not, for the report.
    ``wait_seconds`` defaults to :data:`WAL_WAIT_SECONDS`.
    """
    if engine.dialect.name != "sqlite":
        return None
    wait_seconds = WAL_WAIT_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    raw = engine.raw_connection()
    try:
        # The raw connection runs outside any transaction: a checkpoint inside one could
        # never pass its own read snapshot.
        cursor = raw.cursor()
        cursor.execute("PRAGMA busy_timeout=100")
        try:
            while True:
                busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return None
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
        finally:
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()
    finally:
        raw.close()
    database = engine.url.database
    return (f"the rows are deleted, but the write-ahead log {database}-wal still holds old "
            f"copies of them: another connection kept reading for {wait_seconds:g} s, so it "
            "could not be truncated. It will be at the next erase, or run "
            f"`sqlite3 {database} 'PRAGMA wal_checkpoint(TRUNCATE)'` once readers are done")
