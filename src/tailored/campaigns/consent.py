"""Consent per person and channel: recorded with when it was given, the latest deciding.

``TAILORED_CONSENT_DEFAULT`` says what no record means: ``opt-in`` (the default: no
recorded consent, no message) or ``opt-out`` (a message unless consent was revoked).
Records stay under the profile they were made for; a person's consent is read over their
profile and every profile merged into it, so a merge never loses or resurrects one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.errors import InvalidInput
from tailored.store.consents import CONSENT_CHANNELS, check_channel, record_consent
from tailored.store.tables import consents, profiles

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["CONSENT_CHANNELS", "consent_of", "record_consent"]


def consent_of(store: Store, person: str, channel: str, *, default: str = "opt-in"
               ) -> dict[str, Any]:
    """Whether ``person`` (any id) may be reached on ``channel``: ``{"profile_id",
    "channel", "granted", "given_at", "source"}``; with no record, ``granted`` follows
    ``default`` and ``source`` is ``"default"``."""
    check_channel(channel)
    if default not in ("opt-in", "opt-out"):
        raise InvalidInput(f"consent default must be opt-in or opt-out, got {default!r}",
                           field="consent_default")
    with store.reading() as conn:
        pid = store.find_profile(person, conn)
        ids = [pid, *conn.scalars(sa.select(profiles.c.profile_id)
                                  .where(profiles.c.merged_into == pid))]
        row = conn.execute(
            sa.select(consents.c.granted, consents.c.given_at, consents.c.source)
            .where(consents.c.profile_id.in_(ids), consents.c.channel == channel)
            .order_by(consents.c.given_at.desc()).limit(1)).first()
    if row is None:
        return {"profile_id": pid, "channel": channel, "granted": default == "opt-out",
                "given_at": None, "source": "default"}
    return {"profile_id": pid, "channel": channel, "granted": bool(row.granted),
            "given_at": row.given_at.isoformat(), "source": row.source}
