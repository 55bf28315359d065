"""How far each consumer has read the store's log, kept in the store itself.

A position is a watermark (every event id up to it is handled) and the ids handled out of
order above it (closed intervals: changes delivered by a bus can overtake each other). It is
read and written inside the transaction that handles the events, so handling and moving the
position commit together: after a crash at any moment nothing is counted twice or lost.

Every store writer holds the write lock for its whole transaction (SQLite's, and an advisory
lock on PostgreSQL), so events commit in id order: an id missing below one that is visible
never appears later (a rolled-back chunk or an erasure), and a catch-up may step over it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from tailored.store.tables import realtime_positions

__all__ = ["Position", "load_position", "save_position"]


def _within(watermark: int, seen: list[list[int]], i: int) -> bool:
    return i <= watermark or any(a <= i <= b for a, b in seen)


def _marked(watermark: int, seen: list[list[int]], ids: Iterable[int]
            ) -> tuple[int, list[list[int]]]:
    """The watermark and intervals with ``ids`` added, folded in where they join it."""
    merged = [list(iv) for iv in seen]
    merged += [[i, i] for i in ids if i > watermark]
    merged.sort()
    out: list[list[int]] = []
    for a, b in merged:
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    while out and out[0][0] <= watermark + 1:
        watermark = max(watermark, out.pop(0)[1])
    return watermark, out


@dataclass
class Position:
    """One consumer's place in the log."""

    consumer: str
    event_pos: int = 0
    #: Ids handled above ``event_pos``, as sorted, disjoint, closed intervals.
    event_seen: list[list[int]] = field(default_factory=list)
    merge_pos: int = 0
    events_handled: int = 0
    stored: bool = False
    #: Merge ids handled above ``merge_pos`` (merges that came through a bus).
    merge_seen: list[list[int]] = field(default_factory=list)

    def handled(self, event_id: int) -> bool:
        return _within(self.event_pos, self.event_seen, event_id)

    def merge_handled(self, merge_id: int) -> bool:
        return _within(self.merge_pos, self.merge_seen, merge_id)

    def mark(self, ids: Iterable[int]) -> None:
        """Record event ids as handled, folding them into the watermark where they join."""
        self.event_pos, self.event_seen = _marked(self.event_pos, self.event_seen, ids)

    def mark_merges(self, ids: Iterable[int]) -> None:
        """Record merge ids as handled, as :meth:`mark` does events."""
        self.merge_pos, self.merge_seen = _marked(self.merge_pos, self.merge_seen, ids)

    def advance_to(self, top: int) -> None:
        """Everything up to ``top`` is handled or will never exist (read by a catch-up)."""
        if top > self.event_pos:
            self.event_pos = top
            self.mark(())

    def advance_merges_to(self, top: int) -> None:
        """:meth:`advance_to` for the merges."""
        if top > self.merge_pos:
            self.merge_pos = top
            self.mark_merges(())


def load_position(conn: sa.Connection, consumer: str) -> Position:
    row = conn.execute(sa.select(realtime_positions)
                       .where(realtime_positions.c.consumer == consumer)).first()
    if row is None:
        return Position(consumer)
    return Position(consumer, int(row.event_pos), [list(iv) for iv in row.event_seen or []],
                    int(row.merge_pos), int(row.events_handled), stored=True,
                    merge_seen=[list(iv) for iv in row.merge_seen or []])


def save_position(conn: sa.Connection, position: Position) -> None:
    values = {"event_pos": position.event_pos, "event_seen": position.event_seen,
              "merge_pos": position.merge_pos, "merge_seen": position.merge_seen,
              "events_handled": position.events_handled,
              "updated_at": datetime.now(UTC)}
    if position.stored:
        conn.execute(realtime_positions.update()
                     .where(realtime_positions.c.consumer == position.consumer).values(values))
    else:
        conn.execute(realtime_positions.insert().values(consumer=position.consumer, **values))
        position.stored = True

