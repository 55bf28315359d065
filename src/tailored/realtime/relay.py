"""The Redis stream's own position in the store: what never reached the stream is put on it.

A change reaches the stream when its publisher can reach Redis. One that could not (Redis
was down; a strict run, which publishes nothing) is still in the store, and consumers read it
there; but the broadcast stream, which every serving process reads for its models, would
never carry it. :class:`StreamRelay` is a consumer whose position is "on the stream": a
change that came through the stream only moves it; one found in the store is published
(ids only, as the original would have been). While Redis is away it waits (its position
stays), and the next catch-up after Redis is back relays what was missed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tailored.realtime.changes import Change
from tailored.realtime.consumers import Batch, Context

if TYPE_CHECKING:
    from tailored.realtime.redis_bus import RedisBus

__all__ = ["Later", "StreamRelay"]


class Later(Exception):
    """A consumer cannot work now (its own service is away): try again at the next
    catch-up, without counting a failure or parking anything."""


class StreamRelay:
    """Publishes on the Redis stream the changes that are in the store but never were."""

    name = "stream_relay"
    transactional = False
    #: What was in the store before the relay first ran was never meant for the stream.
    start_at_end = True

    def __init__(self, bus: RedisBus, *, grace_seconds: float = 10.0) -> None:
        self.bus = bus
        self.grace_seconds = grace_seconds

    def handle(self, ctx: Context, batch: Batch) -> dict[str, int]:
        if ctx.from_bus or not (batch.events or batch.moved):
            return {}
        # Events committed a moment ago are on their way through the stream (their
        # publisher's entry is not handled yet): only older ones were missed.
        cutoff = datetime.now(UTC) - timedelta(seconds=self.grace_seconds)
        missed = [r for r in batch.events if r.received_at <= cutoff]
        if not missed and batch.events:
            raise Later("the newest changes may still be on their way")
        change = Change(events=tuple((r.message_id, r.profile_id) for r in missed),
                        event_ids=tuple(r.id for r in missed), merges=tuple(batch.moved))
        if not self.bus.publish_now(change):
            raise Later(f"{self.bus} is unavailable")
        return {"relayed": len(missed)}
