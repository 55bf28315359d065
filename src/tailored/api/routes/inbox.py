"""The in-app inbox: ``GET /v1/inbox/{any id}`` and marking a message read, with a
read-scope key or a per-person token (``X-Inbox-Token``) the customer's backend gets from
``POST /v1/inbox/tokens``. The public write key is refused: it ships inside apps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import SettingsDep, StoreDep, authorize, key_from_header, require
from tailored.api.schemas import ERROR_RESPONSES
from tailored.campaigns.inbox import inbox_of, issue_token, mark_read, read_token
from tailored.config import Settings
from tailored.errors import Forbidden
from tailored.store import Store

__all__ = ["router"]

router = APIRouter(prefix="/v1/inbox", tags=["campaigns"], responses=ERROR_RESPONSES)
TokenHeader = Annotated[str | None, Header(
    alias="X-Inbox-Token", description="A per-person token from POST /v1/inbox/tokens.")]


class TokenIn(BaseModel):
    person: str


async def _allowed(request: Request, store: Store, settings: Settings, person: str,
                   token: str | None) -> str:
    """The profile to read: the token's person (who must be ``person``), else any person
    for a read-scope key."""
    if token is not None:
        pid = await run_in_threadpool(read_token, store, settings, token)
        asked = await run_in_threadpool(store.find_profile, person)
        if asked != pid:
            raise Forbidden("this inbox token is for another person")
        return pid
    await authorize(store, key_from_header(request.headers.get("authorization")), "read")
    return person


@router.post("/tokens", dependencies=[require("read")])
async def token(body: TokenIn, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """A short-lived token that reads one person's inbox (give it to their app)."""
    return await run_in_threadpool(issue_token, store, settings, body.person)


@router.get("/{person}")
async def inbox(person: str, request: Request, store: StoreDep, settings: SettingsDep,
                x_inbox_token: TokenHeader = None) -> dict[str, Any]:
    """The person's unexpired messages, newest first, and how many are unread."""
    who = await _allowed(request, store, settings, person, x_inbox_token)
    return await run_in_threadpool(inbox_of, store, who)


@router.post("/{person}/messages/{message_id}/read")
async def read(person: str, message_id: int, request: Request, store: StoreDep,
               settings: SettingsDep, x_inbox_token: TokenHeader = None) -> dict[str, Any]:
    """Mark one message read."""
    who = await _allowed(request, store, settings, person, x_inbox_token)
    return await run_in_threadpool(mark_read, store, who, message_id)
