"""A profile document with its real-time part: ``live`` counters and current ``segments``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.realtime.live_profile import public_view, read_live
from tailored.store.tables import profiles, segment_membership

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["with_live"]


def with_live(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """Add ``live`` (the live profile, None until a consumer has counted the person: run
    ``tailored worker --once`` or ``tailored serve``) and ``segments`` (the names of the
    segments the person is in now) to a profile document; every other key is kept."""
    pid = data["profile_id"]
    with store.reading() as conn:
        data["live"] = public_view(read_live(conn, pid))
        ids = [pid, *conn.scalars(sa.select(profiles.c.profile_id)
                                  .where(profiles.c.merged_into == pid))]
        data["segments"] = sorted(set(conn.scalars(
            sa.select(segment_membership.c.segment)
            .where(segment_membership.c.profile_id.in_(ids),
                   segment_membership.c.left_at.is_(None)))))
    return data
