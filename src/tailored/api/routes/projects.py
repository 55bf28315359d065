"""What analytics.js loads before it sends anything: its project settings.

analytics.js fetches ``{cdnURL}/v1/projects/{writeKey}/settings`` and sends its events to
the host named there. Answering it here lets a page point analytics.js at Tailored with
``cdnURL`` alone: events go back to this server, no destination bundle is loaded, and
nothing is sent to Segment (its metrics are off).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import StoreDep
from tailored.api.schemas import ErrorOut
from tailored.errors import Forbidden, NotFound

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["segment"])


def project_settings(write_key: str, host: str, scheme: str) -> dict[str, Any]:
    """The settings document analytics.js expects, sending to ``scheme://host/v1``."""
    api_host = f"{host}/v1"
    return {
        "integrations": {"Segment.io": {
            "apiKey": write_key, "apiHost": api_host, "protocol": scheme,
            "unbundledIntegrations": [], "addBundledMetadata": True,
            "maybeBundledConfigIds": {},
        }},
        "plan": {"track": {"__default": {"enabled": True, "integrations": {}}},
                 "identify": {"__default": {"enabled": True}},
                 "group": {"__default": {"enabled": True}}},
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0, "host": api_host},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


@router.get("/projects/{write_key}/settings", summary="analytics.js project settings",
            responses={404: {"model": ErrorOut, "description": "No such write key."},
                       403: {"model": ErrorOut, "description": "Not a write key."}})
async def settings(write_key: str, request: Request, store: StoreDep) -> dict[str, Any]:
    """The settings analytics.js loads from its ``cdnURL``: send events to this server.

    Public, as on Segment's CDN: the write key in the path is the one the page already
    ships. An unknown or revoked key is 404 (analytics.js then does not start); a key of any
    scope but ingest is 403, since a key in a page is public.
    """
    scope = await run_in_threadpool(store.key_scope, write_key)
    if scope is None:
        raise NotFound("no such write key: create one with `tailored keys create --scope "
                       "ingest`")
    if scope != "ingest":
        raise Forbidden(f"a {scope!r} key must not be shipped in a web page, where anyone can "
                        "read it: use a key of scope 'ingest'")
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return project_settings(write_key, host, request.url.scheme)
