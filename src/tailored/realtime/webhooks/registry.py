"""Webhooks kept in the store: add (answering the signing secret once), list, remove."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from tailored.errors import InvalidInput, NotFound
from tailored.events.names import SEGMENT_EVENTS
from tailored.store.tables import events, webhook_deliveries, webhooks

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["Webhook", "add_webhook", "check_url", "hooks_of", "list_webhooks",
           "remove_webhook"]


@dataclass(frozen=True)
class Webhook:
    """A webhook as the deliverer uses it (the secret revealed)."""

    id: str
    url: str
    event_name: str
    segment: str | None
    secret: str
    after_event_id: int


def check_url(url: str) -> str:
    """An http(s) URL with a host, else :class:`InvalidInput` naming the field."""
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = url if len(str(url)) <= 80 else str(url)[:77] + "..."
        raise InvalidInput(f"url: not an http(s) URL: {shown!r} (e.g. "
                           "https://example.com/hooks/tailored)", field="url")
    return url.strip()


def add_webhook(store: Store, url: str, on: str, segment: str | None = None
                ) -> dict[str, Any]:
    """Add a webhook for events named ``on`` (with ``segment``: Segment Entered / Exited of
    that segment). The answer carries the signing secret: the only time it is shown."""
    url = check_url(url)
    on = (on or "").strip()
    if not on or len(on) > 256:
        raise InvalidInput("on: give the event name to send, e.g. 'Order Completed'",
                           field="on")
    if segment is not None:
        segment = segment.strip()
        if on not in SEGMENT_EVENTS:
            raise InvalidInput(f"segment: only with --on 'Segment Entered' or 'Segment "
                               f"Exited', not {on!r}", field="segment")
        if not segment or len(segment) > 128:
            raise InvalidInput("segment: give the segment's name", field="segment")
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook_id = "wh_" + uuid.uuid4().hex[:16]
    now = datetime.now(UTC)
    with store.transaction() as conn:
        # Events already committed are not sent: a new webhook starts from now.
        after = int(conn.scalar(sa.select(sa.func.max(events.c.id))) or 0)
        conn.execute(webhooks.insert().values(
            id=hook_id, url=url, event_name=on, segment=segment,
            secret=str(store.personal.codec.encode(secret)), after_event_id=after,
            created_at=now))
    _CACHE.clear()
    return {"id": hook_id, "url": url, "on": on, "segment": segment, "secret": secret,
            "created_at": now.isoformat()}


def list_webhooks(store: Store) -> list[dict[str, Any]]:
    """Every webhook with its deliveries by status and its last error (never the secret)."""
    d = webhook_deliveries
    with store.reading() as conn:
        counts: dict[str, dict[str, int]] = {}
        for hook_id, status, n in conn.execute(
                sa.select(d.c.webhook_id, d.c.status, sa.func.count())
                .group_by(d.c.webhook_id, d.c.status)):
            counts.setdefault(hook_id, {})[status] = int(n)
        out = []
        for row in conn.execute(sa.select(webhooks).order_by(webhooks.c.created_at)):
            last = conn.execute(
                sa.select(d.c.last_error, d.c.status).where(
                    d.c.webhook_id == row.id, d.c.last_error.is_not(None))
                .order_by(d.c.created_at.desc()).limit(1)).first()
            by = counts.get(row.id, {})
            out.append({"id": row.id, "url": row.url, "on": row.event_name,
                        "segment": row.segment, "created_at": row.created_at.isoformat(),
                        "pending": by.get("pending", 0), "delivered": by.get("delivered", 0),
                        "parked": by.get("parked", 0),
                        "last_error": None if last is None else last.last_error})
    return out


def remove_webhook(store: Store, hook_id: str) -> dict[str, Any]:
    """Remove a webhook and its undelivered deliveries."""
    with store.transaction() as conn:
        if conn.execute(webhooks.delete().where(webhooks.c.id == hook_id)).rowcount == 0:
            raise NotFound(f"no webhook {hook_id!r}: `tailored webhook list` shows them")
        dropped = conn.execute(webhook_deliveries.delete().where(
            webhook_deliveries.c.webhook_id == hook_id,
            webhook_deliveries.c.status != "delivered")).rowcount
    _CACHE.clear()
    return {"id": hook_id, "removed": True, "undelivered_dropped": int(dropped)}


# The webhooks of each store, read again every couple of seconds: the subscriber asks for
# every event, and the table changes only when someone runs `tailored webhook`.
_CACHE: dict[int, tuple[float, list[Webhook]]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SECONDS = 2.0


def hooks_of(store: Store, *, fresh: bool = False) -> list[Webhook]:
    """The store's webhooks (secrets revealed), cached for a couple of seconds."""
    key = id(store)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if not fresh and cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
    with store.reading() as conn:
        rows = conn.execute(sa.select(webhooks)).all()
    hooks = [Webhook(r.id, r.url, r.event_name, r.segment,
                     str(store.personal.codec.decode(r.secret)), int(r.after_event_id))
             for r in rows]
    with _CACHE_LOCK:
        _CACHE[key] = (time.monotonic(), hooks)
    return hooks
