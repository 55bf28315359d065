"""The customer's own SMS or mobile-push service: a signed JSON POST per message, shaped
like Firebase Cloud Messaging's HTTP v1 ``message`` so an FCM relay needs no mapping.

Signed as real-time webhooks are (``X-Tailored-Signature: t=UNIX,v1=HMAC-SHA256``, the
campaign's secret, shown once when it was created); ``X-Tailored-Delivery`` is the
message's stable id, for the receiver to de-duplicate a retry.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tailored.channels.base import Outcome, OutgoingMessage
from tailored.realtime.webhooks.delivery import post

if TYPE_CHECKING:
    from tailored.campaigns.definitions import CampaignSpec
    from tailored.config import Settings

__all__ = ["WebhookChannel", "fcm_message"]


def fcm_message(message: OutgoingMessage) -> dict[str, Any]:
    """The body: ``{"message": {"token"?, "notification", "data", ...}, "to", ...}``.
    FCM's ``data`` values must be strings."""
    data = {"campaign": message.campaign, "variant": message.variant,
            "message_id": message.message_id, "profile_id": message.profile_id}
    if message.data.get("click_url"):
        data["url"] = str(message.data["click_url"])
    body: dict[str, Any] = {
        "message": {
            "notification": {"title": message.rendered.subject,
                             "body": message.rendered.text or message.rendered.subject},
            "data": data,
        },
        # Who it is for, in the customer's own ids: their service knows the device or phone.
        "to": {"user_id": message.address, "profile_id": message.profile_id},
        "html": message.rendered.html,
        "unsubscribe_url": message.unsubscribe_url,
    }
    if message.data.get("device_token"):
        body["message"]["token"] = message.data["device_token"]
    return body


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: Settings, spec: CampaignSpec) -> None:
        self.settings = settings
        self.url = spec.webhook_url or ""
        self.secret = spec.webhook_secret or ""

    def __enter__(self) -> WebhookChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, message: OutgoingMessage) -> Outcome:
        body = json.dumps(fcm_message(message), separators=(",", ":")).encode()
        error = post(self.url, body, self.secret, message.message_id,
                     self.settings.webhook_timeout_seconds)
        if error is None:
            return Outcome("sent")
        # 4xx but 408/429 is the receiver refusing this message: trying again won't help.
        if error.startswith("HTTP 4") and not error.startswith(("HTTP 408", "HTTP 429")):
            return Outcome("failed", error)
        return Outcome("retry", error)
