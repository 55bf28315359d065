"""What ``tailored worker status`` shows: each consumer's position, what it has left, how far
behind it is, and the failures parked on the way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.realtime.positions import load_position
from tailored.store.tables import events, merges, realtime_parked, realtime_positions

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["worker_status"]


def worker_status(store: Store, names: list[str]) -> dict[str, Any]:
    """Positions, what is left to handle, and parked failures."""
    with store.reading() as conn:
        top = int(conn.scalar(sa.select(sa.func.max(events.c.id))) or 0)
        top_merge = int(conn.scalar(sa.select(sa.func.max(merges.c.id))) or 0)
        stored = {r.consumer: r for r in conn.execute(sa.select(realtime_positions))}
        consumers = []
        for name in [*names, *sorted(set(stored) - set(names))]:
            pos = load_position(conn, name)
            pending = int(conn.scalar(sa.select(sa.func.count()).select_from(events)
                                      .where(events.c.id > pos.event_pos)) or 0)
            pending -= sum(b - a + 1 for a, b in pos.event_seen)
            oldest = conn.scalar(sa.select(sa.func.min(events.c.received_at))
                                 .where(events.c.id > pos.event_pos)) if pending else None
            row = stored.get(name)
            consumers.append({
                "consumer": name, "registered": name in names,
                "event_position": pos.event_pos, "last_event_id": top,
                "pending_events": max(pending, 0),
                "merge_position": pos.merge_pos, "last_merge_id": top_merge,
                "pending_merges": max(
                    0, int(conn.scalar(sa.select(sa.func.count()).select_from(merges)
                                       .where(merges.c.id > pos.merge_pos)) or 0)
                    - sum(b - a + 1 for a, b in pos.merge_seen)),
                "events_handled": pos.events_handled,
                "lag_seconds": None if oldest is None else round(
                    (datetime.now(UTC) - oldest).total_seconds(), 3),
                "updated_at": None if row is None else row.updated_at.isoformat(),
            })
        parked_total = int(conn.scalar(sa.select(sa.func.count())
                                       .select_from(realtime_parked)) or 0)
        parked = [{"consumer": r.consumer, "event_id": r.event_id,
                   "message_id": r.message_id, "profile_id": r.profile_id,
                   "attempts": r.attempts, "error": r.error,
                   "parked_at": r.parked_at.isoformat()}
                  for r in conn.execute(sa.select(realtime_parked)
                                        .order_by(realtime_parked.c.id.desc()).limit(50))]
    return {"consumers": consumers, "parked": parked, "parked_total": parked_total}
