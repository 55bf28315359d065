"""The unsubscribe link of every message: a GET shows a confirm button and changes nothing
(mail scanners fetch links to check them: a GET that unsubscribed would unsubscribe people
who never asked); a POST unsubscribes, either that button or a mail client's RFC 8058
one-click POST (body ``List-Unsubscribe=One-Click``). No API key: the signed token in the
link is the authority, and a forged, altered or expired one gets 400 and changes nothing."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import IngestorDep, SettingsDep, StoreDep
from tailored.campaigns.unsubscribe import read_unsubscribe, unsubscribe
from tailored.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["campaigns"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1 style="font-size: 1.4rem">{title}</h1>{body}</body></html>"""
_WHAT = {"email": "e-mails", "push": "push notifications", "sms": "text messages",
         "inapp": "in-app messages", "webhook": "these messages", "all": "any messages"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status,
                        headers={"Cache-Control": "no-store"})


def _refused(exc: InvalidInput) -> HTMLResponse:
    return _page("This link does not work", f"<p>{escape(str(exc))}.</p>", 400)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse,
            summary="Ask to confirm an unsubscribe (changes nothing)")
async def confirm(token: str, store: StoreDep, settings: SettingsDep) -> HTMLResponse:
    try:
        link = await run_in_threadpool(read_unsubscribe, store, settings, token)
    except InvalidInput as exc:
        return _refused(exc)
    what = _WHAT[link["channel"]]
    return _page("Unsubscribe?", f"""<p>You will no longer get {escape(what)} from us.</p>
<form method="post"><button type="submit" name="List-Unsubscribe" value="One-Click"
style="font-size: 1rem; padding: .6rem 1.2rem">Unsubscribe</button></form>""")


@router.post("/unsubscribe/{token}", response_class=HTMLResponse,
             summary="Unsubscribe (the confirm button, or an RFC 8058 one-click POST)")
async def confirmed(token: str, store: StoreDep, settings: SettingsDep,
                    ingestor: IngestorDep) -> HTMLResponse:
    try:
        done = await run_in_threadpool(lambda: unsubscribe(store, settings, token,
                                                           ingestor=ingestor))
    except InvalidInput as exc:
        return _refused(exc)
    what = _WHAT[done["channel"]]
    return _page("You are unsubscribed", f"<p>You will no longer get {escape(what)} from "
                 "us.</p>")
