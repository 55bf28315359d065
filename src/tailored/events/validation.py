"""From raw JSON to an accepted event: validation, Segment's clock-skew correction, platform.

Every source goes through :func:`validate_event`; a rejection is an :class:`InvalidInput`
whose ``field`` names the part of the event that is wrong.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from tailored.errors import InvalidInput
from tailored.events.model import Event
from tailored.events.platform import derive_platform
from tailored.events.storable import check_storable

# The earliest event time accepted: devices with unset clocks send 1970 times, which the
# skew correction (sentAt) fixes; anything corrected to before it is bad input.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = ["ValidEvent", "normalise_email", "validate_event"]

_ALIASES = {
    "message_id": "messageId", "user_id": "userId", "anonymous_id": "anonymousId",
    "previous_id": "previousId", "group_id": "groupId", "original_timestamp": "originalTimestamp",
    "sent_at": "sentAt", "received_at": "receivedAt", "user_agent": "userAgent",
}


@dataclass(slots=True)
class ValidEvent:
    """An event that passed validation, with what the pipeline derives from it."""

    event: Event
    message_id: str
    timestamp: datetime
    received_at: datetime
    platform: str
    device_id: str | None
    email: str | None
    context: dict[str, Any]


MAX_EMAIL_LENGTH = 254
"""The longest address SMTP can carry (RFC 5321 with its errata)."""


def normalise_email(value: Any) -> str | None:
    """An e-mail as an identity: trimmed and lower-cased; None if it is not one."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or " " in email:
        return None
    return email


def _email_of(traits: dict[str, Any], field: str) -> str | None:
    value = traits.get("email")
    # An identity is stored in a column of bounded width; a longer text is no address.
    if isinstance(value, str) and len(value.strip()) > MAX_EMAIL_LENGTH:
        raise InvalidInput(f"{field}: {len(value.strip()):,} characters, longer than an "
                           f"e-mail address can be ({MAX_EMAIL_LENGTH})", field=field)
    return normalise_email(value)


def _field_of(loc: tuple[int | str, ...]) -> str:
    return ".".join(_ALIASES.get(str(p), str(p)) for p in loc) or "(event)"


def validate_event(
    raw: Any, *, received_at: datetime, max_future: timedelta = timedelta(days=1)
) -> ValidEvent:
    """Validate one raw Segment event; raise InvalidInput naming the field on failure."""
    if not isinstance(raw, dict):
        raise InvalidInput(
            f"an event must be a JSON object, got {type(raw).__name__}", field="(event)"
        )
    check_storable(raw)
    try:
        event = Event.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = _field_of(err["loc"])
        raise InvalidInput(f"{field}: {err['msg']}", field=field) from None

    # An empty id is no id.
    if event.message_id == "":
        event.message_id = None
    if event.user_id == "":
        event.user_id = None
    if event.anonymous_id == "":
        event.anonymous_id = None
    if event.previous_id == "":
        event.previous_id = None
    if event.group_id == "":
        event.group_id = None
    if event.context.device is not None and event.context.device.id == "":
        event.context.device.id = None
    kind = event.type
    if kind == "alias":
        if not event.user_id:
            raise InvalidInput("userId: an alias needs the new userId", field="userId")
        if not event.previous_id:
            raise InvalidInput("previousId: an alias needs the previousId", field="previousId")
    elif not event.user_id and not event.anonymous_id:
        raise InvalidInput(
            "userId: either userId or anonymousId is required", field="userId/anonymousId"
        )
    if kind == "track" and not event.event:
        raise InvalidInput("event: a track call needs the event name", field="event")
    if kind == "group" and not event.group_id:
        raise InvalidInput("groupId: a group call needs a groupId", field="groupId")

    if received_at.tzinfo is not UTC:  # keep the caller's object when it is already UTC
        received_at = (received_at.replace(tzinfo=UTC) if received_at.tzinfo is None
                       else received_at.astimezone(UTC))
    received = event.received_at or received_at
    if event.timestamp is not None:
        timestamp = event.timestamp
    elif event.original_timestamp is not None and event.sent_at is not None:
        # Segment's correction for a device clock that is off: the delay between the
        # device creating and sending the event is trusted, its absolute clock is not.
        try:
            timestamp = received - (event.sent_at - event.original_timestamp)
        except OverflowError:
            raise InvalidInput(
                f"sentAt: {event.sent_at.isoformat()} and originalTimestamp "
                f"{event.original_timestamp.isoformat()} are too far apart to correct the "
                "clock skew", field="sentAt") from None
    else:
        timestamp = event.original_timestamp or received
    if timestamp < EPOCH:
        # Compared as times; older text-compared trait times let year-999 events win.
        field = ("timestamp" if event.timestamp is not None
                 else "originalTimestamp" if event.original_timestamp is not None
                 else "receivedAt")
        raise InvalidInput(
            f"{field}: the event time {timestamp.isoformat()} is before "
            "1970-01-01T00:00:00Z", field=field)
    if timestamp - received_at > max_future:
        field = "timestamp" if event.timestamp is not None else "originalTimestamp"
        raise InvalidInput(
            f"{field}: {timestamp.isoformat()} is more than "
            f"{max_future.total_seconds() / 3600:g} hours in the future",
            field=field,
        )

    ctx = event.context
    email = _email_of(event.traits, "traits.email") if kind == "identify" else None
    if email is None and ctx.traits:
        email = _email_of(ctx.traits, "context.traits.email")
    message_id = event.message_id or _content_id(raw)
    # The context is kept as it came (validated above); dumping the model again would cost
    # more than validating it.
    context = raw.get("context") or {}
    return ValidEvent(
        event=event,
        message_id=message_id,
        timestamp=timestamp,
        received_at=received,
        platform=derive_platform(context, kind),
        device_id=ctx.device.id if ctx.device else None,
        email=email,
        context=context,
    )


def _content_id(raw: dict[str, Any]) -> str:
    # Without a messageId, the content names the event, so a file ingested twice still
    # lands once.
    body = {k: v for k, v in raw.items() if k not in ("sentAt", "receivedAt", "writeKey")}
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=str))
    return "auto-" + digest.hexdigest()[:32]
