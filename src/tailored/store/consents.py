"""Consent rows (``consents``): written by ingestion (Segment's ``context.consent``), the
CLI and the API; read by campaigns (:mod:`tailored.campaigns.consent`). The latest by when
it was given wins: events arrive out of order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tailored.errors import InvalidInput
from tailored.store.tables import consents

__all__ = ["CONSENT_CHANNELS", "check_channel", "record_consent", "record_event_consents"]

#: The channels consent is given for (Segment's categoryPreferences use these names).
CONSENT_CHANNELS = ("email", "push", "sms", "ads", "inapp", "webhook")


def check_channel(channel: str) -> str:
    if channel not in CONSENT_CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r} (channels: "
                           f"{', '.join(CONSENT_CHANNELS)})", field="channel")
    return channel


def record_consent(conn: sa.Connection, profile_id: str, channel: str, granted: bool, *,
                   given_at: datetime, source: str) -> bool:
    """Record a grant or revocation inside the caller's transaction, unless a later one is
    recorded already (events arrive out of order). Whether it was recorded."""
    check_channel(channel)
    if given_at.tzinfo is None:
        raise InvalidInput("given_at must be timezone-aware", field="given_at")
    row = conn.execute(sa.select(consents.c.given_at).where(
        consents.c.profile_id == profile_id, consents.c.channel == channel)).first()
    if row is not None and row.given_at > given_at:
        return False
    values = {"granted": granted, "given_at": given_at, "source": source,
              "recorded_at": datetime.now(UTC)}
    if row is None:
        conn.execute(consents.insert().values(profile_id=profile_id, channel=channel,
                                              **values))
    else:
        conn.execute(consents.update().where(consents.c.profile_id == profile_id,
                                             consents.c.channel == channel).values(values))
    return True



def record_event_consents(conn: sa.Connection, landed: Iterable[tuple[str, Any]]) -> int:
    """Record the consent that events carry (``context.consent.categoryPreferences``: a
    channel name and true or false; other names and values are not consent to a channel we
    know, and are left alone), at each event's time, in ingestion's transaction. ``landed``:
    (profile id, validated event) pairs. Consents recorded."""
    n = 0
    for pid, v in landed:
        consent = v.context.get("consent")
        prefs = consent.get("categoryPreferences") if isinstance(consent, dict) else None
        if not isinstance(prefs, dict):
            continue
        for channel, granted in prefs.items():
            if channel in CONSENT_CHANNELS and isinstance(granted, bool):
                n += record_consent(conn, pid, channel, granted, given_at=v.timestamp,
                                    source="event")
    return n
