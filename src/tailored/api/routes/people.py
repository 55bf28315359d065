"""Profiles and statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import StoreDep, require

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["people"])


@router.get("/stats", dependencies=[require("read")])
async def stats(store: StoreDep) -> dict[str, Any]:
    return await run_in_threadpool(store.stats)


@router.get("/profiles", dependencies=[require("read")])
async def profiles(store: StoreDep, limit: int = Query(20, ge=1, le=1000)) -> dict[str, Any]:
    return {"profiles": await run_in_threadpool(store.profiles, limit)}


@router.get("/profiles/{person}", dependencies=[require("read")])
async def profile(person: str, store: StoreDep, merges: bool = False) -> dict[str, Any]:
    data = await run_in_threadpool(store.profile, person)
    if merges:
        data["merges"] = await run_in_threadpool(store.merge_history, person)
    return data


@router.delete("/profiles/{person}", dependencies=[require("admin")])
async def erase(person: str, store: StoreDep) -> dict[str, Any]:
    pid = await run_in_threadpool(store.find_profile, person)
    return {"profile_id": pid, "deleted": await run_in_threadpool(store.erase_person, pid)}
