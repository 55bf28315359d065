"""Webhooks as a subscription: each event a webhook asks for goes in its outbox.

Installed once per process (:func:`install`) into :mod:`tailored.realtime.subscriptions`;
the worker's due-time turns send what is due (retries), and a process that runs
continuously sends from a background thread as soon as a delivery is queued.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING

from tailored.realtime import subscriptions
from tailored.realtime.webhooks.delivery import deliver_due, wake
from tailored.realtime.webhooks.outbox import enqueue
from tailored.realtime.webhooks.registry import Webhook, hooks_of

if TYPE_CHECKING:
    from tailored.realtime.subscriptions import Notice
    from tailored.store import Store

__all__ = ["install", "wanted_by"]


def wanted_by(notice: Notice) -> list[Webhook]:
    """The webhooks that ask for this event."""
    return [h for h in hooks_of(notice.store)
            if h.event_name == notice.name and notice.event_id > h.after_event_id
            and (h.segment is None or h.segment == notice.segment)]


def _queue(notice: Notice) -> None:
    queued = False
    for hook in wanted_by(notice):
        queued |= enqueue(notice.store, hook, notice)
    if queued and not wake(notice.store):
        # No background sender here (`tailored worker --once`): send now.
        deliver_due(notice.store)


def _due(store: Store, now: datetime) -> None:
    if not wake(store):
        deliver_due(store)


_installed = threading.Lock()
_done: list[bool] = []


def install() -> None:
    """Subscribe the webhooks (once per process)."""
    with _installed:
        if _done:
            return
        subscriptions.on_event(lambda n: bool(wanted_by(n)), _queue).description = "webhooks"
        subscriptions.on_due(_due)
        _done.append(True)
