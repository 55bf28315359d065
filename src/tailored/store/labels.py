"""Who a profile id is, for people reading a list of them: the user id, else a masked e-mail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tailored.store.personal import mask_email
from tailored.store.tables import identities, profiles

if TYPE_CHECKING:
    from tailored.store.store import Store

__all__ = ["ANONYMOUS", "person_labels"]

ANONYMOUS = "(anonymous)"
_CHUNK = 900  # under SQLite's limit of host parameters in one statement


def person_labels(store: Store, profile_ids: Sequence[str]) -> dict[str, str]:
    """For each profile id, its user id (masked if it is an e-mail), else its e-mail masked
    (``a**@example.com``), else ``(anonymous)``; ids with no profile (erased since) are
    ``(no profile)``."""
    user_ids: dict[str, str | None] = {}
    emails: dict[str, str] = {}
    ids = list(dict.fromkeys(profile_ids))
    with store.reading() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            for pid, user_id in conn.execute(sa.select(profiles.c.profile_id,
                                                       profiles.c.user_id)
                                             .where(profiles.c.profile_id.in_(chunk))):
                user_ids[pid] = user_id
            rows = conn.execute(sa.select(identities.c.profile_id, identities.c.value)
                                .where(identities.c.profile_id.in_(chunk),
                                       identities.c.kind == "email")
                                .order_by(identities.c.profile_id, identities.c.value))
            for pid, value in rows:
                emails.setdefault(pid, store.personal.reveal_identity("email", value))
    out = {}
    for pid in ids:
        if pid not in user_ids:
            out[pid] = "(no profile)"
        elif user_ids[pid]:
            user_id = str(user_ids[pid])
            # Some clients send the e-mail as the user id: masked like any e-mail.
            out[pid] = mask_email(user_id) if "@" in user_id else user_id
        elif pid in emails:
            out[pid] = mask_email(emails[pid])
        else:
            out[pid] = ANONYMOUS
    return out
