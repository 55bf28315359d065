"""The Segment HTTP tracking API: /v1/track, identify, page, screen, alias, group, batch.

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
    IngestorDep,
    SettingsDep,
    StoreDep,
    authorize,
    get_models,
    key_from_header,
)
from tailored.api.schemas import IngestResult
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
    report: IngestReport = await run_in_threadpool(
        functools.partial(ingestor.ingest_events, keep, received_at=datetime.now(UTC),
                          on_committed=lambda done: fold_in(
                              models.serving(settings.default_model), done)))
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


@router.post("/batch", response_model=IngestResult, summary="Send many events at once")
async def batch(request: Request, store: StoreDep, ingestor: IngestorDep,
                settings: SettingsDep) -> IngestResult:
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
    return endpoint


for _call in _CALLS:
    router.post(f"/{_call}", response_model=IngestResult, summary=f"Send one {_call} call")(
        _single(_call))
