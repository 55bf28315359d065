"""Web push subscriptions, posted by the page that subscribed (with the public write key, as
the Segment calls are) and kept under the person the page names; and the public VAPID key
the page subscribes with.

A subscription attaches only to a person already known by the ``userId`` (else the
``anonymousId``) posted: an id nobody holds gets 404 and nothing is stored, as the other
routes answer for people they do not know. Pages send their analytics calls first, which
make the person.
"""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import SettingsDep, StoreDep, require
from tailored.api.schemas import ERROR_RESPONSES, ErrorOut
from tailored.channels.vapid import application_server_key
from tailored.channels.webpush import subscribe, unsubscribe_endpoint

__all__ = ["router"]

router = APIRouter(prefix="/v1/push", tags=["campaigns"])


class _Keys(BaseModel):
    p256dh: str = Field(max_length=256, description="The browser's P-256 public key, "
                        "base64url (65 bytes).")
    auth: str = Field(max_length=64, description="The browser's auth secret, base64url "
                      "(16 bytes).")


class PushSubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    endpoint: str = Field(max_length=2048, description="The push service's https:// URL.")
    expiration_time: float | None = Field(default=None, alias="expirationTime")
    keys: _Keys


class SubscribeBody(BaseModel):
    # Ids as the Segment calls take them: trimmed, a number read as its text.
    model_config = ConfigDict(str_strip_whitespace=True, coerce_numbers_to_str=True)

    user_id: str | None = Field(default=None, alias="userId", max_length=256)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", max_length=256)
    subscription: PushSubscriptionIn
    user_agent: str | None = Field(default=None, alias="userAgent", max_length=512)


class EndpointBody(BaseModel):
    endpoint: str = Field(max_length=2048)


class SubscribedOut(BaseModel):
    id: str = Field(description="The subscription's id: SHA-256 of its endpoint, hex.")
    profile_id: str = Field(description="The person it is kept under.")


class UnsubscribedOut(BaseModel):
    removed: bool = Field(description="Whether a subscription had this endpoint.")


class VapidKeyOut(BaseModel):
    public_key: str = Field(serialization_alias="publicKey", description="Pass as "
                            "applicationServerKey to pushManager.subscribe().")


_UNKNOWN: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut, "description": "No person holds the userId or anonymousId."}}


@router.post("/subscriptions", status_code=201, response_model=SubscribedOut,
             dependencies=[require("ingest")], responses={**ERROR_RESPONSES, **_UNKNOWN},
             summary="Keep a browser's push subscription for a person")
async def add(body: SubscribeBody, store: StoreDep, request: Request) -> dict[str, str]:
    """Keep the subscription under the person the ``userId`` (else ``anonymousId``) names;
    the same endpoint posted again moves to whoever posts it now."""
    keys = body.subscription.keys
    return await run_in_threadpool(functools.partial(
        subscribe, store, endpoint=body.subscription.endpoint, p256dh=keys.p256dh,
        auth=keys.auth, user_id=body.user_id or None, anonymous_id=body.anonymous_id or None,
        user_agent=body.user_agent or request.headers.get("user-agent", "")[:512] or None))


@router.delete("/subscriptions", response_model=UnsubscribedOut,
               dependencies=[require("ingest")], responses=ERROR_RESPONSES,
               summary="Forget a browser's push subscription")
async def remove(body: EndpointBody, store: StoreDep) -> dict[str, bool]:
    """Forget the subscription of ``endpoint`` (the page's ``unsubscribe()``, say)."""
    return {"removed": await run_in_threadpool(unsubscribe_endpoint, store, body.endpoint)}


@router.get("/vapid-key", response_model=VapidKeyOut,
            summary="The public key pages subscribe with (no key needed)")
async def vapid_public_key(store: StoreDep, settings: SettingsDep) -> dict[str, str]:
    """The VAPID public key, base64url: public by design, so no key is asked for."""
    return {"public_key": await run_in_threadpool(application_server_key, store, settings)}
