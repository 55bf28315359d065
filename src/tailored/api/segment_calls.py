"""The Segment calls' request bodies, as OpenAPI documents them.

The routes read their bodies themselves (under the size limit, gzip or not, JSON or the
``text/plain`` analytics.js sends) and validate each event through
:func:`tailored.events.validate_event`, so a bad event in a batch is rejected alone. These
models only describe the bodies, with an example each, for ``/openapi.json`` and ``/docs``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CALL_MODELS", "SHORT_PATHS", "request_body"]


class _Call(BaseModel):
    model_config = ConfigDict(extra="allow")

    messageId: str | None = Field(None, max_length=256, description=(
        "Makes ingestion idempotent: a repeated id is acknowledged and counted, never "
        "stored twice. Derived from the content when missing."))
    userId: str | None = Field(None, max_length=256, description=(
        "Your id of the person; userId or anonymousId is required."))
    anonymousId: str | None = Field(None, max_length=256, description=(
        "A device's or browser's id before the person is known."))
    timestamp: str | None = Field(None, description="When it happened, ISO-8601.")
    originalTimestamp: str | None = Field(None, description=(
        "The device's clock when it happened; with sentAt, corrected for clock skew."))
    sentAt: str | None = Field(None, description="The device's clock when it was sent.")
    context: dict[str, Any] | None = Field(None, description=(
        "Segment's context: device, os, app, library, page, ip, userAgent, traits..."))
    integrations: dict[str, Any] | None = None
    writeKey: str | None = Field(None, description=(
        "The write key inside the body, as analytics.js may send it; never stored."))


class TrackCall(_Call):
    type: Literal["track"] | None = None
    event: str = Field(max_length=256, description="What the person did, e.g. Order Completed.")
    properties: dict[str, Any] | None = None


class IdentifyCall(_Call):
    type: Literal["identify"] | None = None
    traits: dict[str, Any] | None = Field(None, description=(
        "What is known about the person; an email trait links the e-mail to the profile."))


class PageCall(_Call):
    type: Literal["page"] | None = None
    name: str | None = Field(None, max_length=256)
    category: str | None = None
    properties: dict[str, Any] | None = None


class ScreenCall(_Call):
    type: Literal["screen"] | None = None
    name: str | None = Field(None, max_length=256)
    properties: dict[str, Any] | None = None


class AliasCall(_Call):
    type: Literal["alias"] | None = None
    previousId: str = Field(max_length=256, description="The id the person had before.")


class GroupCall(_Call):
    type: Literal["group"] | None = None
    groupId: str = Field(max_length=256)
    traits: dict[str, Any] | None = None


class BatchCall(BaseModel):
    model_config = ConfigDict(extra="allow")

    batch: list[dict[str, Any]] = Field(min_length=1, description=(
        "Events of any type, each with its `type`; each is accepted or rejected alone."))
    context: dict[str, Any] | None = Field(None, description="Context shared by every event.")
    sentAt: str | None = Field(None, description="Applies to events without their own.")
    writeKey: str | None = None


_WHEN = "2026-01-31T12:00:00Z"
_EXAMPLES: dict[str, dict[str, Any]] = {
    "track": {"type": "track", "event": "Product Viewed", "userId": "user-1",
              "messageId": "ajs-next-1", "timestamp": _WHEN,
              "properties": {"product_id": "sku-1", "price": 19.99, "currency": "EUR"}},
    "identify": {"type": "identify", "userId": "user-1", "anonymousId": "anon-7",
                 "messageId": "ajs-next-2", "timestamp": _WHEN,
                 "traits": {"email": "ann@example.com", "first_name": "Ann"}},
    "page": {"type": "page", "anonymousId": "anon-7", "name": "Shoes", "messageId": "ajs-next-3",
             "properties": {"path": "/shoes", "url": "https://shop.example/shoes"},
             "timestamp": _WHEN},
    "screen": {"type": "screen", "userId": "user-1", "name": "Cart", "messageId": "ios-4",
               "context": {"device": {"id": "phone-1", "type": "ios"}, "os": {"name": "iOS"}},
               "originalTimestamp": _WHEN, "sentAt": "2026-01-31T12:00:05Z"},
    "alias": {"type": "alias", "userId": "user-1", "previousId": "anon-7",
              "messageId": "ajs-next-5", "timestamp": _WHEN},
    "group": {"type": "group", "userId": "user-1", "groupId": "acme",
              "traits": {"name": "Acme"}, "messageId": "ajs-next-6", "timestamp": _WHEN},
}
_EXAMPLES["batch"] = {"batch": [_EXAMPLES["identify"], _EXAMPLES["track"]],
                      "context": {"library": {"name": "analytics-python", "version": "2.3"}},
                      "sentAt": "2026-01-31T12:00:05Z"}

CALL_MODELS: dict[str, type[BaseModel]] = {
    "track": TrackCall, "identify": IdentifyCall, "page": PageCall, "screen": ScreenCall,
    "alias": AliasCall, "group": GroupCall, "batch": BatchCall,
}
"""Each call's body model, by the call's name (its path under /v1)."""

SHORT_PATHS: dict[str, str] = {"t": "track", "i": "identify", "p": "page", "s": "screen",
                               "a": "alias", "g": "group", "b": "batch"}
"""analytics.js posts to the first letter of the call: /v1/t, /v1/p, ... and /v1/b."""


def request_body(call: str) -> dict[str, Any]:
    """``openapi_extra`` for a call's route: its body schema and example, as JSON and as the
    ``text/plain`` analytics.js sends (to spare browsers a CORS pre-flight)."""
    ref = {"$ref": f"#/components/schemas/{CALL_MODELS[call].__name__}"}
    media = {"schema": ref, "example": _EXAMPLES[call]}
    return {"requestBody": {"required": True, "content": {
        "application/json": media, "text/plain": media}}}
