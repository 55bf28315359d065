"""Open pixels and click redirects of sent messages. No API key: the signed token is the
authority. A forged, altered or expired token gets 400 and records nothing; a click goes
only to the URL signed into its token (a link that was in that message), so the route is
no open redirect."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import SettingsDep, StoreDep
from tailored.campaigns.tracking import PIXEL_GIF, record_click, record_open
from tailored.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/v1/t", tags=["campaigns"])
AgentHeader = Annotated[str | None, Header(alias="User-Agent")]
_NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


@router.get("/o/{token}", summary="An e-mail's open pixel", response_class=Response)
async def opened(token: str, store: StoreDep, settings: SettingsDep,
                 user_agent: AgentHeader = None) -> Response:
    try:
        await run_in_threadpool(lambda: record_open(store, settings, token,
                                                    user_agent=user_agent))
    except InvalidInput:
        return Response(status_code=400, headers=_NO_STORE)
    return Response(PIXEL_GIF, media_type="image/gif", headers=_NO_STORE)


@router.get("/c/{token}", summary="A tracked link: recorded, then redirected",
            response_class=RedirectResponse)
async def clicked(token: str, store: StoreDep, settings: SettingsDep,
                  user_agent: AgentHeader = None) -> Response:
    try:
        url = await run_in_threadpool(lambda: record_click(store, settings, token,
                                                           user_agent=user_agent))
    except InvalidInput as exc:
        return HTMLResponse(f"<!doctype html><title>Link not valid</title><p>{escape(str(exc))}"
                            "</p>", status_code=400, headers=_NO_STORE)
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)
