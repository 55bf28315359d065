"""The in-app inbox: a message is a row the person's app reads (``GET /v1/inbox/{id}``),
marks read, and stops seeing when it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tailored.channels.base import Outcome, OutgoingMessage
from tailored.store.tables import inbox_messages

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["INBOX_DAYS", "InboxChannel"]

#: How long a message stays in the inbox.
INBOX_DAYS = 30


class InboxChannel:
    name = "inapp"

    def __init__(self, store: Store, *, days: float = INBOX_DAYS) -> None:
        self.store = store
        self.days = days

    def __enter__(self) -> InboxChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, message: OutgoingMessage) -> Outcome:
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            # One inbox row per outbox row: a retry after a crash finds it there.
            if conn.scalar(sa.select(inbox_messages.c.id)
                           .where(inbox_messages.c.outbox_id == message.outbox_id)) is None:
                conn.execute(inbox_messages.insert().values(
                    profile_id=self.store.find_profile(message.profile_id, conn),
                    outbox_id=message.outbox_id, campaign=message.campaign,
                    title=message.rendered.subject, html=message.rendered.html,
                    text=message.rendered.text, created_at=now,
                    expires_at=now + timedelta(days=self.days)))
        return Outcome("sent")
