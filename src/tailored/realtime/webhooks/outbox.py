"""The webhooks' outbox in the store: a row per (webhook, event) before any attempt.

Written by the subscriber as it sees each event (idempotent: the pair is unique, so a batch
seen again after a crash adds nothing), claimed with a lease by whichever process delivers,
and marked delivered, due again later (exponential back-off) or parked.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from tailored.store.tables import webhook_deliveries

if TYPE_CHECKING:
    from tailored.realtime.subscriptions import Notice
    from tailored.realtime.webhooks.registry import Webhook
    from tailored.store import Store

__all__ = ["claim", "due_rows", "enqueue", "record_failure", "record_success"]

d = webhook_deliveries


def enqueue(store: Store, hook: Webhook, notice: Notice, now: datetime | None = None) -> bool:
    """Put the event in the webhook's outbox; False if it was already there."""
    now = now or datetime.now(UTC)
    delivery_id = "dl_" + uuid.uuid4().hex
    # Ids and the event, never the person's traits.
    body = orjson.dumps({"delivery_id": delivery_id, "webhook_id": hook.id,
                         "on": hook.event_name, "segment": notice.segment,
                         "event": notice.to_dict()}).decode()
    with store.transaction() as conn:
        if conn.scalar(sa.select(d.c.id).where(d.c.webhook_id == hook.id,
                                               d.c.event_id == notice.event_id)):
            return False
        conn.execute(d.insert().values(
            id=delivery_id, webhook_id=hook.id, event_id=notice.event_id,
            profile_id=notice.profile_id, body=body, status="pending", attempts=0,
            next_attempt_at=now, created_at=now))
    return True


def due_rows(store: Store, now: datetime, limit: int) -> list[Any]:
    """Pending deliveries whose time has come and that no one holds."""
    with store.reading() as conn:
        return list(conn.execute(
            sa.select(d.c.id, d.c.webhook_id, d.c.body, d.c.attempts)
            .where(d.c.status == "pending", d.c.next_attempt_at <= now,
                   sa.or_(d.c.lease_until.is_(None), d.c.lease_until < now))
            .order_by(d.c.next_attempt_at).limit(limit)).all())


def claim(store: Store, delivery_id: str, now: datetime, lease: timedelta) -> bool:
    """Hold a delivery for one attempt (another process's claim wins)."""
    with store.transaction() as conn:
        return conn.execute(d.update().where(
            d.c.id == delivery_id, d.c.status == "pending",
            sa.or_(d.c.lease_until.is_(None), d.c.lease_until < now))
            .values(lease_until=now + lease)).rowcount == 1


def record_success(store: Store, delivery_id: str, attempts: int) -> None:
    with store.transaction() as conn:
        conn.execute(d.update().where(d.c.id == delivery_id).values(
            status="delivered", attempts=attempts, delivered_at=datetime.now(UTC),
            lease_until=None, last_error=None))


def record_failure(store: Store, delivery_id: str, attempts: int, error: str,
                   retry_at: datetime | None) -> None:
    """A failed attempt: due again at ``retry_at``, or parked when that is None."""
    values: dict[str, Any] = {"attempts": attempts, "last_error": error[:1000],
                              "lease_until": None}
    if retry_at is None:
        values["status"] = "parked"
    else:
        values["next_attempt_at"] = retry_at
    with store.transaction() as conn:
        conn.execute(d.update().where(d.c.id == delivery_id).values(values))
