"""What people do with messages goes into their history as track events (Email Opened,
Email Link Clicked, Push Clicked, Unsubscribed), so segments, models and reports see it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.errors import NotFound
from tailored.ingest import Ingestor
from tailored.store.tables import identities

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["record_event"]


def record_event(store: Store, profile_id: str, event: str, properties: dict[str, Any], *,
                 message_id: str, at: datetime, ingestor: Ingestor | None = None) -> bool:
    """Ingest one track event as the person (by their user id, else an anonymous id), with
    a ``message_id`` that makes a repeat a counted duplicate. False for a person with no id
    left to send it as (erased meanwhile)."""
    try:  # a profile merged since is the person it was merged into
        profile_id = store.find_profile(profile_id)
    except NotFound:
        return False
    with store.reading() as conn:
        sender = conn.execute(
            sa.select(identities.c.kind, identities.c.value)
            .where(identities.c.profile_id == profile_id,
                   identities.c.kind.in_(("user_id", "anonymous_id")))
            .order_by(identities.c.kind.desc(), identities.c.value).limit(1)).first()
    if sender is None:
        return False
    key = "userId" if sender.kind == "user_id" else "anonymousId"
    (ingestor or Ingestor(store)).ingest_events([{
        "type": "track", key: store.personal.reveal_identity(sender.kind, sender.value),
        "event": event, "messageId": message_id, "timestamp": at.isoformat(),
        "properties": properties}], received_at=at)
    return True
