"""Profiles and statistics."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import ModelsDep, PublisherDep, SettingsDep, StoreDep, require
from tailored.api.schemas import (
    ERROR_RESPONSES,
    ErasureResult,
    ErrorOut,
    ProfileOut,
    ProfilesOut,
    StatsOut,
)
from tailored.privacy import erase_everywhere
from tailored.realtime.profile_view import with_live

__all__ = ["router"]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No person holds this id."}}
router = APIRouter(prefix="/v1", tags=["people"], responses=ERROR_RESPONSES)


@router.get("/stats", response_model=StatsOut, dependencies=[require("read")])
async def stats(store: StoreDep) -> dict[str, Any]:
    """Counts of events (by name, call and platform), duplicates, profiles and merges."""
    return await run_in_threadpool(store.stats)


@router.get("/profiles", response_model=ProfilesOut,
            dependencies=[require("read")])
async def profiles(store: StoreDep, limit: int = Query(20, ge=1, le=1000)) -> dict[str, Any]:
    """The people with the most events."""
    return {"profiles": await run_in_threadpool(store.profiles, limit)}


@router.get("/profiles/{person}", response_model=ProfileOut, response_model_exclude_unset=True,
            dependencies=[require("read")], responses=_NOT_FOUND)
async def profile(person: str, store: StoreDep, merges: bool = False) -> dict[str, Any]:
    """One person by any of their ids: user id, e-mail, anonymous id, device id or profile
    id; with their live counters (``live``) and current segments (``segments``)."""
    data = await run_in_threadpool(lambda: with_live(store, store.profile(person)))
    if merges:
        data["merges"] = await run_in_threadpool(store.merge_history, person)
    return data


@router.delete("/profiles/{person}", response_model=ErasureResult,
               response_model_exclude_none=True, dependencies=[require("admin")],
               responses={409: {"description": "Several people hold this id (an e-mail set "
                                "as a trait or used as a user id); `matches` lists them."}})
async def erase(
    person: str, store: StoreDep, settings: SettingsDep, models: ModelsDep,
    publisher: PublisherDep,
    all_matches: bool = Query(False, description="Erase every person the id names, when "
                              "several do, instead of refusing."),
) -> dict[str, Any]:
    """Erase a person — every profile holding the id as an identity or e-mail trait — from
    the store, its snapshot and every trained model (this server's loaded ones included)."""
    answer, _ = await run_in_threadpool(functools.partial(
        erase_everywhere, store, settings, person, all_matches=all_matches, models=models,
        publisher=publisher))
    return answer
