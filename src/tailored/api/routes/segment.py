"""The Segment HTTP tracking API: /v1/track, identify, page, screen, alias, group, batch,
and analytics.js's short paths for them (/v1/t, /v1/i, /v1/p, /v1/s, /v1/a, /v1/g, /v1/b).

Speaks what the official SDKs send: the write key as the Basic auth user (or ``writeKey``
in the body), JSON optionally gzip-compressed, a batch's ``sentAt`` and ``context`` applying
to its events. Limits as Segment's: 32 KB an event, 500 KB a request.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tailored.api.body import read_json
from tailored.api.deps import (
    DOCUMENTED_KEY,
    IngestorDep,
    SettingsDep,
    StoreDep,
    authorize,
    get_models,
    key_from_header,
)
from tailored.api.schemas import ERROR_RESPONSES, IngestResult
from tailored.api.segment_calls import SHORT_PATHS, request_body
from tailored.config import Settings
from tailored.errors import InvalidInput, NothingAccepted, PayloadTooLarge
from tailored.ingest import IngestReport, Rejection
from tailored.recommend.freshness import fold_in

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["segment"])

_CALLS = ("track", "identify", "page", "screen", "alias", "group")


def _size_rejections(events: list[Any], settings: Settings) -> dict[int, Rejection]:
    out = {}
    for i, ev in enumerate(events):
        try:
            size = len(orjson.dumps(ev))
        except orjson.JSONEncodeError:
            continue  # validation rejects it, naming the field
        if size > settings.max_event_bytes:
            out[i] = Rejection(i, "(event)", f"the event is {size:,} bytes, over the "
                               f"{settings.max_event_bytes // 1024} KB limit")
    return out


def _server_received(ev: Any) -> Any:
    """The event without a client's ``receivedAt``: as in Segment, the server sets it, and a
    client's own would defeat the clock-skew correction."""
    if isinstance(ev, dict) and "receivedAt" in ev:
        return {k: v for k, v in ev.items() if k != "receivedAt"}
    return ev


async def _authorize_header(request: Request, store: Any) -> None:
    """A key sent in the header is checked before the body is read; a key in the body
    (``writeKey``) only after."""
    header = request.headers.get("authorization")
    if header is not None:
        await authorize(store, key_from_header(header), "ingest")


async def _ingest(
    request: Request, events: list[Any], body: dict[str, Any], store: Any, ingestor: Any,
    settings: Settings,
) -> IngestResult:
    if request.headers.get("authorization") is None:
        key = body.get("writeKey")
        await authorize(store, key if isinstance(key, str) else None, "ingest")
    too_big = _size_rejections(events, settings)
    keep = [_server_received(ev) for i, ev in enumerate(events) if i not in too_big]
    positions = [i for i in range(len(events)) if i not in too_big]
    models = get_models(request)
    # A real-time server folds each committed chunk in through its publisher (every
    # process's models, once each: tailored.realtime.fresh_models); otherwise, here.
    direct = getattr(request.app.state, "fold_in", None) is None
    report: IngestReport = await run_in_threadpool(
        functools.partial(ingestor.ingest_events, keep, received_at=datetime.now(UTC),
                          on_committed=(lambda done: fold_in(
                              models.serving(settings.default_model), done)) if direct
                          else None))
    # Rejections are reported by position in the request, whatever was set aside first.
    rejected = sorted([*too_big.values(), *(
        Rejection(positions[r.index], r.field, r.reason) for r in report.rejected)],
        key=lambda r: r.index)
    if events and report.accepted == 0 and report.duplicates == 0:
        detail = [r.to_dict() for r in rejected]
        if len(too_big) == len(events):
            raise PayloadTooLarge("every event is over the size limit", field="(event)")
        raise NothingAccepted("no event in the request was valid", detail)
    return IngestResult(accepted=report.accepted, duplicates=report.duplicates,
                        rejected=[r.to_dict() for r in rejected])  # type: ignore[misc]


async def batch(request: Request, store: StoreDep, ingestor: IngestorDep,
                settings: SettingsDep) -> IngestResult:
    """Send many events at once (up to 500 KB); each is accepted or rejected alone."""
    await _authorize_header(request, store)
    body = await read_json(request, settings.max_batch_bytes)
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise InvalidInput("batch: the body must be an object with a list under 'batch'",
                           field="batch")
    if not body["batch"]:
        raise InvalidInput("batch: the list is empty", field="batch")
    shared_context = body.get("context") if isinstance(body.get("context"), dict) else {}
    events = []
    for ev in body["batch"]:
        if isinstance(ev, dict):
            ev = dict(ev)
            if "sentAt" in body and "sentAt" not in ev:
                ev["sentAt"] = body["sentAt"]
            own = ev.get("context")
            if shared_context and (own is None or isinstance(own, dict)):
                ev["context"] = {**shared_context, **(own or {})}
        events.append(ev)
    return await _ingest(request, events, body, store, ingestor, settings)


def _single(call: str) -> Any:
    async def endpoint(request: Request, store: StoreDep, ingestor: IngestorDep,
                       settings: SettingsDep) -> IngestResult:
        await _authorize_header(request, store)
        body = await read_json(request, settings.max_event_bytes)
        if not isinstance(body, dict):
            raise InvalidInput("body: an event must be a JSON object", field="body")
        if body.setdefault("type", call) != call:
            raise InvalidInput(f"type: {body['type']!r} sent to /v1/{call}", field="type")
        return await _ingest(request, [body], body, store, ingestor, settings)

    endpoint.__name__ = call
    endpoint.__doc__ = (f"Send one {call} call (up to 32 KB). The key goes as the Basic auth "
                        "user, a Bearer token, or `writeKey` in the body.")
    return endpoint


def _register(path: str, call: str, endpoint: Any, summary: str) -> None:
    router.post(f"/{path}", response_model=IngestResult, summary=summary,
                name=f"{call}_{path}" if path != call else call,
                dependencies=[DOCUMENTED_KEY], responses=ERROR_RESPONSES,
                openapi_extra=request_body(call))(endpoint)


for _call in _CALLS:
    _register(_call, _call, _single(_call), f"Send one {_call} call")
_register("batch", "batch", batch, "Send many events at once")
# analytics.js posts to the call's first letter; same handlers, same rules.
for _short, _call in SHORT_PATHS.items():
    _register(_short, _call, batch if _call == "batch" else _single(_call),
              f"/v1/{_call} as analytics.js names it")
