"""Outgoing webhooks: signed JSON POSTs of the events a webhook asks for, at least once.

``tailored webhook add URL --on EVENT_NAME [--segment S]`` keeps a webhook in the store
(:mod:`.registry`); the ``subscriptions`` consumer queues each matching event in the store's
outbox (:mod:`.outbox`) and it is sent (:mod:`.delivery`) with ``X-Tailored-Signature`` and
``X-Tailored-Delivery`` headers (:mod:`.signing`), retried with back-off, then parked. See
docs/realtime.md for the payload and a receiver's signature check.
"""

from __future__ import annotations

from tailored.realtime.webhooks.delivery import (
    DeliveryPolicy,
    configure,
    deliver_due,
    start_background,
    stop_background,
)
from tailored.realtime.webhooks.registry import (
    add_webhook,
    check_url,
    list_webhooks,
    remove_webhook,
)
from tailored.realtime.webhooks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign, verify
from tailored.realtime.webhooks.subscriber import install

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "DeliveryPolicy",
    "add_webhook",
    "check_url",
    "configure",
    "deliver_due",
    "install",
    "list_webhooks",
    "remove_webhook",
    "sign",
    "start_background",
    "stop_background",
    "verify",
]
