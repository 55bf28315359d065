"""Reading the in-app inbox: a person's unexpired messages, newest first, and marking them
read. Read with a read-scope key (the customer's backend) or a short-lived token for one
person (issued by that backend to the person's app) — never with the public write key,
which ships inside apps: anyone holding it could read anyone's inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.campaigns.outbox import person_ids
from tailored.campaigns.signing import Signer, signing_key
from tailored.errors import InvalidInput, NotFound
from tailored.store.tables import inbox_messages

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["inbox_of", "issue_token", "mark_read", "read_token"]


def issue_token(store: Store, settings: Settings, person: str) -> dict[str, Any]:
    """A token that reads one person's inbox for ``inbox_token_minutes``."""
    pid = store.find_profile(person)
    token = Signer(signing_key(store, settings), "inbox").sign({"p": pid})
    return {"token": token, "profile_id": pid,
            "expires_in": int(settings.inbox_token_minutes * 60)}


def read_token(store: Store, settings: Settings, token: str) -> str:
    """The profile id a token was issued for (a person merged since: who they are now)."""
    payload = Signer(signing_key(store, settings), "inbox").read(
        token, max_age_seconds=int(settings.inbox_token_minutes * 60))
    pid = payload.get("p")
    if not isinstance(pid, str):
        raise InvalidInput("the inbox token is not valid", field="token")
    try:
        return store.find_profile(pid)
    except NotFound:
        raise InvalidInput("the inbox token names nobody we know", field="token") from None


def inbox_of(store: Store, person: str, *, now: datetime | None = None,
             limit: int = 50) -> dict[str, Any]:
    """``{"profile_id", "unread", "messages": [{"id", "campaign", "title", "html", "text",
    "created_at", "expires_at", "read"}]}``."""
    now = now or datetime.now(UTC)
    pid = store.find_profile(person)
    with store.reading() as conn:
        ids = list(person_ids(conn, [pid]))
        rows = conn.execute(
            sa.select(inbox_messages).where(
                inbox_messages.c.profile_id.in_(ids),
                sa.or_(inbox_messages.c.expires_at.is_(None),
                       inbox_messages.c.expires_at > now))
            .order_by(inbox_messages.c.created_at.desc(), inbox_messages.c.id.desc())
            .limit(limit)).all()
    messages = [{"id": r.id, "campaign": r.campaign, "title": r.title, "html": r.html,
                 "text": r.text, "created_at": r.created_at.isoformat(),
                 "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                 "read": r.read_at is not None} for r in rows]
    return {"profile_id": pid, "unread": sum(not m["read"] for m in messages),
            "messages": messages}


def mark_read(store: Store, person: str, message_id: int) -> dict[str, Any]:
    """Mark one of the person's messages read (again: no change)."""
    pid = store.find_profile(person)
    with store.transaction() as conn:
        ids = list(person_ids(conn, [pid]))
        row = conn.execute(sa.select(inbox_messages.c.read_at).where(
            inbox_messages.c.id == message_id,
            inbox_messages.c.profile_id.in_(ids))).first()
        if row is None:
            raise NotFound(f"no inbox message {message_id} for this person")
        if row.read_at is None:
            conn.execute(inbox_messages.update().where(inbox_messages.c.id == message_id)
                         .values(read_at=datetime.now(UTC)))
    return {"id": message_id, "read": True}
