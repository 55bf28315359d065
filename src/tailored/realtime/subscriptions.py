"""Subscriptions: "call me for events matching X" and "call me when a person enters or exits
segment S", with the person's live profile at hand.

    from tailored.realtime import subscriptions

    def welcome_vip(notice):
        print(notice.profile_id, notice.segment, notice.profile["orders"])

    subscriptions.on_segment("vip", welcome_vip)                 # Segment Entered vip
    subscriptions.on_event("Order Completed", lambda n: ...)     # one name, several, or a test

Callbacks run in the process that runs the consumers (``tailored worker``, the embedded
``tailored serve``, or a :class:`~tailored.realtime.worker.Worker` of one's own) as the
registered consumer ``subscriptions``, after the live profile has counted the event. Delivery
is at least once: a callback that raises is retried with the worker's back-off and, after its
tries, parked (``tailored worker status``); a batch may be seen again after a crash, so a
callback de-duplicates on ``notice.event_id`` (or ``message_id``). Outgoing webhooks
(:mod:`tailored.realtime.webhooks`) are the first user.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tailored.events.names import SEGMENT_ENTERED, SEGMENT_EXITED
from tailored.realtime.live_profile import public_view, read_live

if TYPE_CHECKING:
    from tailored.realtime.consumers import Batch, Context
    from tailored.store import Store

__all__ = ["SEGMENT_ENTERED", "SEGMENT_EXITED", "Notice", "Subscription", "Subscriptions",
           "SubscriptionsConsumer", "notice_of", "on_due", "on_event", "on_segment",
           "subscriptions", "unsubscribe"]


Match = str | Iterable[str] | Callable[["Notice"], bool] | None
Callback = Callable[["Notice"], Any]


@dataclass(eq=False)
class Notice:
    """One event, as a callback sees it: ids, name and properties, and (read when first
    asked for) the person's live profile. Never the person's traits."""

    event_id: int
    message_id: str
    profile_id: str
    type: str
    name: str  # the track event's name; another call's type (identify, page, ...)
    properties: dict[str, Any]
    timestamp: datetime
    store: Store = field(repr=False)

    @property
    def segment(self) -> str | None:
        """The segment of a Segment Entered / Exited event."""
        if self.name in (SEGMENT_ENTERED, SEGMENT_EXITED):
            value = self.properties.get("segment")
            return str(value) if value is not None else None
        return None

    @cached_property
    def profile(self) -> dict[str, Any] | None:
        """The person's live profile (``tailored profile ID --json``'s ``"live"``)."""
        with self.store.reading() as conn:
            return public_view(read_live(conn, self.profile_id))

    def to_dict(self) -> dict[str, Any]:
        """The event as ids and values, JSON-ready (what a webhook carries)."""
        return {"id": self.event_id, "message_id": self.message_id, "type": self.type,
                "name": self.name, "properties": self.properties,
                "timestamp": self.timestamp.isoformat(), "profile_id": self.profile_id}


@dataclass(eq=False)
class Subscription:
    """A callback and what it is called for; :func:`unsubscribe` removes it."""

    id: int
    test: Callable[[Notice], bool]
    callback: Callback
    description: str


def _test(match: Match) -> tuple[Callable[[Notice], bool], str]:
    if match is None or match == "*":
        return (lambda _n: True), "every event"
    if isinstance(match, str):
        return (lambda n: n.name == match), match
    if callable(match):
        return match, getattr(match, "__name__", "a test")
    names = frozenset(str(m) for m in match)
    return (lambda n: n.name in names), ", ".join(sorted(names))


class Subscriptions:
    """A set of subscriptions (the process has one: :data:`subscriptions`)."""

    def __init__(self) -> None:
        self._subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def on_event(self, match: Match, callback: Callback) -> Subscription:
        """Call ``callback(notice)`` for each event matching ``match``: a name (a track
        event's, or a call's type such as ``"identify"``), several names, ``"*"`` or None for
        every event, or a function of the :class:`Notice`."""
        test, description = _test(match)
        with self._lock:
            sub = Subscription(next(self._ids), test, callback, description)
            self._subs[sub.id] = sub
        return sub

    def on_segment(self, name: str, callback: Callback, *, entered: bool = True
                   ) -> Subscription:
        """Call ``callback(notice)`` when a person enters segment ``name`` (or, with
        ``entered=False``, exits it); ``notice.segment`` is the segment's name."""
        event = SEGMENT_ENTERED if entered else SEGMENT_EXITED
        sub = self.on_event(lambda n: n.name == event and n.segment == name, callback)
        sub.description = f"{event} {name}"
        return sub

    def unsubscribe(self, sub: Subscription) -> bool:
        with self._lock:
            return self._subs.pop(sub.id, None) is not None

    def matching(self, notice: Notice) -> list[Subscription]:
        with self._lock:
            subs = list(self._subs.values())
        return [s for s in subs if s.test(notice)]

    def __len__(self) -> int:
        return len(self._subs)

    def clear(self) -> None:
        with self._lock:
            self._subs.clear()


#: The process's subscriptions, which the ``subscriptions`` consumer calls.
subscriptions = Subscriptions()
on_event = subscriptions.on_event
on_segment = subscriptions.on_segment
unsubscribe = subscriptions.unsubscribe


def notice_of(row: Any, store: Store) -> Notice:
    """A stored event row (``tailored.realtime.live_profile.EVENT_COLUMNS``) as a notice."""
    name = row.event if row.type == "track" and row.event else row.type
    return Notice(int(row.id), row.message_id, row.profile_id, row.type, name,
                  dict(row.properties or {}), row.timestamp, store)


class SubscriptionsConsumer:
    """Calls the matching subscriptions for each event (idempotent callbacks, at least
    once); ``due`` gives the subscribers with work of their own (webhook retries) a turn."""

    name = "subscriptions"
    transactional = False

    def __init__(self, registry: Subscriptions | None = None) -> None:
        self.registry = registry or subscriptions

    def handle(self, ctx: Context, batch: Batch) -> dict[str, int]:
        called = 0
        for row in batch.events:
            if not hasattr(row, "message_id"):  # a due-time check's person, no event
                continue
            notice = notice_of(row, ctx.store)
            for sub in self.registry.matching(notice):
                sub.callback(notice)
                called += 1
        return {"subscriptions_called": called} if called else {}

    def due(self, store: Store, now: datetime) -> list[str]:
        for hook in list(_DUE_HOOKS):
            hook(store, now)
        return []


#: Called on the worker's due-time turns (every few seconds, and once by ``--once``).
_DUE_HOOKS: list[Callable[[Store, datetime], None]] = []


def on_due(hook: Callable[[Store, datetime], None]) -> None:
    """Give ``hook(store, now)`` a turn whenever the worker runs its due-time checks."""
    if hook not in _DUE_HOOKS:
        _DUE_HOOKS.append(hook)
