"""Consumers of the change stream, registered in one place.

A consumer is handed a :class:`Batch` (the events newly handled, read from the store, and
the merges and erasures) and returns counts. A *transactional* consumer works inside the
transaction that moves its position (exactly once); any other must be idempotent (it may
see a batch again after a crash). Later issues add theirs with :func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from tailored.realtime.live_profile import LiveProfiles

if TYPE_CHECKING:
    import sqlalchemy as sa

    from tailored.ingest import Ingestor
    from tailored.store import Store

__all__ = ["Batch", "Consumer", "Context", "LiveProfileConsumer", "LiveSegmentsConsumer",
           "default_consumers", "register", "registered"]


@dataclass
class Batch:
    """What a consumer handles at once."""

    events: Sequence[Any] = ()  # store rows (id, message_id, profile_id, type, event, ...)
    moved: Sequence[tuple[str, str]] = ()  # (from_profile, into_profile) merges and relinks
    erased: Sequence[str] = ()
    #: Read from the store's log with more of it still to read (a catch-up on a backlog).
    backlog: bool = False

    @property
    def profile_ids(self) -> set[str]:
        ids = {r.profile_id for r in self.events}
        ids.update(p for pair in self.moved for p in pair)
        return ids

    def __bool__(self) -> bool:
        return bool(self.events or self.moved or self.erased)


@dataclass
class Context:
    """What a consumer works with: the store, the transaction (transactional consumers),
    which event ids count as handled, and the clock's time."""

    store: Store
    now: datetime
    conn: sa.Connection | None = None
    handled: Callable[[int], bool] = field(default=lambda _id: True)
    #: Profiles whose live state changed (the worker reports how many).
    touched: set[str] = field(default_factory=set)
    #: An ingestor for events a consumer records (Segment Entered): the worker's, which
    #: publishes on its bus when it has one, so those events are handled at once too.
    ingestor: Ingestor | None = None
    #: Whether the batch came through a bus (else it was read from the store's log).
    from_bus: bool = False


class Consumer(Protocol):
    """One kind of work done for every change."""

    name: str
    transactional: bool

    def handle(self, ctx: Context, batch: Batch) -> dict[str, int]:
        """Handle the batch; counts by name (summed into the worker's report)."""


class LiveProfileConsumer:
    """Keeps every person's live counters (see :mod:`tailored.realtime.live_profile`)."""

    name = "live_profile"
    transactional = True

    def __init__(self) -> None:
        # People left stale by a catch-up a crash cut short are looked for once at start;
        # afterwards only when this consumer deferred some (the look is a table scan).
        self._maybe_stale = True

    def handle(self, ctx: Context, batch: Batch) -> dict[str, int]:
        assert ctx.conn is not None
        live = LiveProfiles(ctx.conn, ctx.handled)
        changed = live.apply(batch.events, [p for pair in batch.moved for p in pair],
                             defer_late=batch.backlog)
        if live.deferred:
            self._maybe_stale = True
        if not batch.backlog and self._maybe_stale:
            changed |= live.recount_stale()
            self._maybe_stale = False
        ctx.touched |= changed
        return {"events": len(batch.events), "profiles_updated": len(changed)}


class LiveSegmentsConsumer:
    """Keeps live segments current for the people a batch touched (helper module
    :mod:`tailored.segments.live`: it records membership and the Segment Entered/Exited
    events itself, so this consumer is idempotent, not transactional)."""

    name = "live_segments"
    transactional = False

    def __init__(self, module: Any) -> None:
        self.module = module

    def handle(self, ctx: Context, batch: Batch) -> dict[str, int]:
        people = sorted(batch.profile_ids - set(batch.erased))
        if not people:
            return {}
        if batch.backlog and hasattr(self.module, "mark_due"):
            # More of the log to come: evaluated once by the due check, not once a batch.
            self.module.mark_due(ctx.store, people, now=ctx.now)
            return {}
        # Who did what: people whose new events no live rule watches are left alone (a
        # person named only by a merge is not in it, so is always evaluated).
        events_of: dict[str, set[str | None]] = {}
        always = {p for pair in batch.moved for p in pair}
        for row in batch.events:
            if not hasattr(row, "type"):  # a due check: a person, no event
                always.add(row.profile_id)
                continue
            events_of.setdefault(row.profile_id, set()).add(
                row.event if row.type == "track" else None)
        counts = self.module.refresh_people(
            ctx.store, people, now=ctx.now, ingestor=ctx.ingestor,
            events_of={p: names for p, names in events_of.items() if p not in always})
        return {"segments_entered": int(counts.get("entered", 0)),
                "segments_exited": int(counts.get("exited", 0))}

    def due(self, store: Store, now: datetime) -> list[str]:
        return list(self.module.due_people(store, now=now))


def live_segments_module() -> Any | None:
    """:mod:`tailored.segments.live` when it is there (it lands with live segments)."""
    try:
        module = importlib.import_module("tailored.segments.live")
    except ImportError:
        return None
    if not (hasattr(module, "refresh_people") and hasattr(module, "due_people")):
        return None
    return module


_REGISTRY: list[Callable[[], Consumer | None]] = []


def register(factory: Callable[[], Consumer | None]) -> Callable[[], Consumer | None]:
    """Add a consumer (a factory, called when a worker starts; None leaves it out)."""
    _REGISTRY.append(factory)
    return factory


def registered() -> list[Consumer]:
    """Every registered consumer, in registration order."""
    return [c for c in (factory() for factory in _REGISTRY) if c is not None]


def _live_segments() -> Consumer | None:
    module = live_segments_module()
    return LiveSegmentsConsumer(module) if module is not None else None


def _subscriptions() -> Consumer | None:
    # After the live profile and segments: callbacks see the person's counters current, and
    # Segment Entered / Exited arrive as the events those consumers record.
    from tailored.campaigns import triggers
    from tailored.realtime.subscriptions import SubscriptionsConsumer
    from tailored.realtime.webhooks import install

    install()
    triggers.install()
    return SubscriptionsConsumer()


register(LiveProfileConsumer)
register(_live_segments)
register(_subscriptions)


def default_consumers() -> list[Consumer]:
    return registered()
