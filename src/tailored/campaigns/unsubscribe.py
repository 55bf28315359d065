"""Unsubscribing by a message's signed link: the person goes on the suppression list for
that channel, and an ``Unsubscribed`` event goes into their history (segments, models and
reports see it), once however often the link is used."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.campaigns.history import record_event
from tailored.campaigns.outbox import person_ids
from tailored.campaigns.signing import Signer, signing_key
from tailored.errors import InvalidInput, NotFound
from tailored.ingest import Ingestor
from tailored.store.tables import outbox, suppressions
from tailored.store.writes import upsert

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["CHANNELS", "UNSUBSCRIBE_MAX_AGE_SECONDS", "read_unsubscribe", "unsubscribe"]

CHANNELS = ("email", "push", "sms", "inapp", "webhook", "all")
#: How long an unsubscribe link works: past a year, a person asks from a newer message.
UNSUBSCRIBE_MAX_AGE_SECONDS = 400 * 24 * 3600


def read_unsubscribe(store: Store, settings: Settings, token: str) -> dict[str, Any]:
    """What an unsubscribe link names: ``{"profile_id", "channel", "campaign"}``;
    :class:`InvalidInput` for a forged, altered or expired one."""
    payload = Signer(signing_key(store, settings), "unsubscribe").read(
        token, max_age_seconds=UNSUBSCRIBE_MAX_AGE_SECONDS)
    pid, channel, campaign = payload.get("p"), payload.get("ch"), payload.get("c")
    if not isinstance(pid, str) or channel not in CHANNELS or not (
            campaign is None or isinstance(campaign, str)):
        raise InvalidInput("the unsubscribe link is not valid", field="token")
    return {"profile_id": pid, "channel": channel, "campaign": campaign}


def unsubscribe(store: Store, settings: Settings, token: str, *,
                ingestor: Ingestor | None = None) -> dict[str, Any]:
    """Act on an unsubscribe link (after the person confirmed, or a one-click POST):
    ``{"profile_id", "channel", "campaign", "already"}``. A person merged since the message
    was sent is unsubscribed as who they are now; an erased one cannot be."""
    link = read_unsubscribe(store, settings, token)
    try:
        pid = store.find_profile(link["profile_id"])
    except NotFound:
        raise InvalidInput("the unsubscribe link names nobody we know (erased?)",
                           field="token") from None
    now = datetime.now(UTC)
    with store.transaction() as conn:
        already = conn.scalar(sa.select(suppressions.c.created_at).where(
            suppressions.c.profile_id == pid,
            suppressions.c.channel == link["channel"])) is not None
        if not already:
            upsert(conn, suppressions, [{
                "profile_id": pid, "channel": link["channel"], "reason": "unsubscribed",
                "campaign": link["campaign"], "created_at": now}],
                ["profile_id", "channel"])
        if link["campaign"] is not None:  # the campaign's report counts it
            ids = list(person_ids(conn, [pid]))
            conn.execute(outbox.update().where(
                outbox.c.campaign == link["campaign"], outbox.c.profile_id.in_(ids),
                outbox.c.unsubscribed_at.is_(None)).values(unsubscribed_at=now))
    # One event per (person, channel, campaign): a second click is a counted duplicate.
    record_event(store, pid, "Unsubscribed",
                 {"channel": link["channel"], "campaign": link["campaign"]},
                 message_id=f"unsubscribe:{pid}:{link['channel']}:{link['campaign'] or ''}",
                 at=now, ingestor=ingestor)
    return {**link, "profile_id": pid, "already": already}
