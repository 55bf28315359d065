"""Channels: each sends one prepared message over a real protocol (SMTP, Web Push with VAPID,
a signed webhook, the in-app inbox) and says what happened, so the outbox can move on."""

from tailored.channels.base import Channel, Outcome, OutgoingMessage

__all__ = ["Channel", "Outcome", "OutgoingMessage"]
