"""Recommendations for a person, each item with a reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import ModelsDep, SettingsDep, StoreDep, require
from tailored.errors import NotFound
from tailored.recommend import MAX_K, Filters
from tailored.recommend.training import check_catalog

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["recommendations"])


@router.get("/recommendations/{person}", dependencies=[require("read")])
async def recommendations(
    person: str,
    models: ModelsDep,
    store: StoreDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    model: str | None = None,
    include_seen: bool = False,
    category: Annotated[list[str] | None, Query()] = None,
    brand: Annotated[list[str] | None, Query()] = None,
    price_min: float | None = None,
    price_max: float | None = None,
    max_per_category: Annotated[int | None, Query(ge=1)] = None,
    pin: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """The top k items for any identity of a person; an unknown one gets a cold-start list."""
    name = model or settings.default_model
    recommender = await run_in_threadpool(models.get, name)
    await run_in_threadpool(check_catalog, recommender, store)
    try:
        profile_id: str | None = await run_in_threadpool(store.find_profile, person)
    except NotFound:
        profile_id = None
    filters = Filters(exclude_seen=not include_seen, categories=tuple(category or ()),
                      brands=tuple(brand or ()), price_min=price_min, price_max=price_max,
                      max_per_category=max_per_category, pinned=tuple(pin or ()))
    who = profile_id or person
    items = await run_in_threadpool(recommender.recommend, who, k, filters)
    return {"user": person, "profile_id": profile_id, "model": name,
            "items": [r.to_dict() for r in items],
            "preferences": await run_in_threadpool(recommender.preferences, who)}
