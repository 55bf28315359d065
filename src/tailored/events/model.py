"""The Segment event model (Pydantic v2): track, identify, page, screen, alias, group."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Context", "Device", "Event", "EventType", "OperatingSystem"]

EventType = Literal["track", "identify", "page", "screen", "alias", "group"]


# Ids: SDKs in typed languages send numbers, and Segment keeps ids as text. pydantic-core
# coerces and trims them itself (coerce_numbers_to_str, str_strip_whitespace): a Python
# validator per id cost more than the rest of the model.


class Device(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True,
                              str_strip_whitespace=True)

    id: str | None = Field(default=None, max_length=256)
    type: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    name: str | None = None


class OperatingSystem(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    version: str | None = None


class Context(BaseModel):
    """Segment's context; the fields Tailored reads are typed, the rest kept as they came."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    device: Device | None = None
    os: OperatingSystem | None = None
    app: dict[str, Any] | None = None
    library: dict[str, Any] | None = None
    page: dict[str, Any] | None = None
    campaign: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    ip: str | None = None
    user_agent: str | None = Field(default=None, alias="userAgent")
    locale: str | None = None
    timezone: str | None = None


class Event(BaseModel):
    """One Segment event, as received (names as in the spec, camelCase on the wire)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True,
                              str_strip_whitespace=True)

    type: EventType
    message_id: str | None = Field(default=None, alias="messageId", max_length=256)
    user_id: str | None = Field(default=None, alias="userId", max_length=256)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", max_length=256)
    previous_id: str | None = Field(default=None, alias="previousId", max_length=256)
    group_id: str | None = Field(default=None, alias="groupId", max_length=256)
    event: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    category: str | None = None
    timestamp: datetime | None = None
    original_timestamp: datetime | None = Field(default=None, alias="originalTimestamp")
    sent_at: datetime | None = Field(default=None, alias="sentAt")
    received_at: datetime | None = Field(default=None, alias="receivedAt")
    context: Context = Field(default_factory=Context)
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)

    @field_validator(
        "timestamp", "original_timestamp", "sent_at", "received_at", mode="before"
    )
    @classmethod
    def _no_bare_numbers(cls, v: Any) -> Any:
        # Pydantic would read a number as epoch seconds or milliseconds by its size;
        # Segment's spec has ISO-8601 text only, so a number is more likely a mistake.
        if isinstance(v, int | float) and not isinstance(v, bool):
            raise ValueError("must be ISO-8601 text, e.g. 2026-01-31T12:00:00Z")
        return v

    @field_validator("timestamp", "original_timestamp", "sent_at", "received_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        try:
            return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        except OverflowError:
            # 0001-01-01T00:00:00+23:59 parses, but lies before the first representable UTC
            # time.
            raise ValueError("outside the range of representable times") from None

    @field_validator("properties", "traits", "integrations", mode="before")
    @classmethod
    def _null_is_empty(cls, v: Any) -> Any:
        return {} if v is None else v

    @field_validator("context", mode="before")
    @classmethod
    def _null_context(cls, v: Any) -> Any:
        return {} if v is None else v
