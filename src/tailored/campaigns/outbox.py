"""The transactional outbox: each message a row before it is sent, claimed with a lease,
moved on one by one as each is sent.

* **Once per (campaign, step, person)**: the row's ``dedupe_key`` is unique, and rows are
  inserted with ON CONFLICT DO NOTHING, so two senders racing, a second ``campaign send``
  or a re-run after a crash cannot make a second row; a person merged since is checked
  under every profile id they had (:func:`rows_of`).
* **The Message-ID is made with the row**, from its key, before any SMTP transaction: a
  message sent twice after a crash (sent, then killed before its row was marked) carries
  the same Message-ID both times, and mail clients show it once.
* **Claims are leases**: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`` on
  PostgreSQL (senders in parallel take disjoint rows, never wait on each other), the same
  under SQLite's single writer. A sender that dies leaves rows whose lease runs out; the
  next run takes them again.
* **The checkpoint moves per message**: a row is marked sent after its own send, never when
  a batch is fetched, so a crash loses nobody; one refused recipient fails only its row.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tailored.store.tables import outbox, profiles

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["LEASE_SECONDS", "SENDABLE", "claim", "dedupe_key", "insert_rows", "mark",
           "message_id_for", "person_ids", "rows_of", "sender_id"]

LEASE_SECONDS = 120.0
#: Rows a sender may take (when due and not leased).
SENDABLE = ("queued", "held")
#: Rows that are done with: a person with one of these was handled.
DONE = ("sent", "failed", "bounced", "cancelled")


def sender_id() -> str:
    """Who holds a lease (host and process): for people reading the outbox."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def dedupe_key(campaign: str, step: int, profile_id: str) -> str:
    return f"{campaign}\x1f{step}\x1f{profile_id}"


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID derived from the dedupe key: the same for every try of the message."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def person_ids(conn: sa.Connection, pids: Sequence[str]) -> dict[str, str]:
    """Every profile id each of ``pids`` was known by (itself and those merged into it),
    mapped to it."""
    out = {p: p for p in pids}
    for i in range(0, len(pids), 900):
        chunk = list(pids[i:i + 900])
        for merged, into in conn.execute(
                sa.select(profiles.c.profile_id, profiles.c.merged_into)
                .where(profiles.c.merged_into.in_(chunk))):
            out[merged] = into
    return out


def rows_of(conn: sa.Connection, campaign: str, step: int, known: dict[str, str]
            ) -> dict[str, Any]:
    """The outbox rows of (campaign, step) for these people (``known``: any profile id →
    the person's current one), by current profile id."""
    out: dict[str, Any] = {}
    ids = list(known)
    for i in range(0, len(ids), 900):
        for row in conn.execute(
                sa.select(outbox.c.id, outbox.c.profile_id, outbox.c.status,
                          outbox.c.variant, outbox.c.due_at)
                .where(outbox.c.campaign == campaign, outbox.c.step == step,
                       outbox.c.profile_id.in_(ids[i:i + 900]))):
            out.setdefault(known[row.profile_id], row)
    return out


def insert_rows(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any whose dedupe key exists (a racing sender's)."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(outbox).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return int(conn.execute(stmt, rows).rowcount or 0)


def claim(store: Store, owner: str, *, now: datetime, limit: int,
          campaign: str | None = None, ignore_due: bool = False,
          lease_seconds: float = LEASE_SECONDS) -> list[Any]:
    """Lease up to ``limit`` sendable rows that are due (or, with ``ignore_due``, any) and
    not leased by a live sender; the rows, oldest due first."""
    cond = [outbox.c.status.in_(SENDABLE),
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)]
    if not ignore_due:
        cond.append(outbox.c.due_at <= now)
    if campaign is not None:
        cond.append(outbox.c.campaign == campaign)
    pick = sa.select(outbox.c.id).where(*cond).order_by(outbox.c.due_at, outbox.c.id) \
        .limit(limit)
    with store.transaction() as conn:
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = list(conn.scalars(pick))
        if not ids:
            return []
        conn.execute(outbox.update().where(outbox.c.id.in_(ids))
                     .values(lease_owner=owner,
                             lease_until=now + timedelta(seconds=lease_seconds)))
        rows = conn.execute(sa.select(outbox).where(outbox.c.id.in_(ids))
                            .order_by(outbox.c.due_at, outbox.c.id)).all()
    return list(rows)


def mark(store: Store, updates: Iterable[tuple[int, dict[str, Any]]], owner: str) -> int:
    """Record what became of claimed rows (only while the lease is still ``owner``'s: a
    sender whose lease ran out and was taken over does not overwrite the new holder)."""
    n = 0
    with store.transaction() as conn:
        for row_id, values in updates:
            n += conn.execute(outbox.update().where(outbox.c.id == row_id,
                                                    outbox.c.lease_owner == owner)
                              .values(lease_owner=None, lease_until=None, **values)).rowcount
    return n

