"""Recommendations for a person, each item with a reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import ModelsDep, SettingsDep, StoreDep, require
from tailored.api.schemas import ERROR_RESPONSES, ErrorOut, RecommendationsOut, SimilarItemsOut
from tailored.recommend import MAX_K, Filters
from tailored.recommend.training import recommendations_for, similar_for

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["recommendations"])


@router.get("/recommendations/{person}", response_model=RecommendationsOut,
            response_model_exclude_unset=True,
            dependencies=[require("read")],
            responses={**ERROR_RESPONSES, 404: {"model": ErrorOut, "description": (
                "No trained model of that name.")}, 409: {"model": ErrorOut, "description": (
                "The catalogue changed since the model was trained.")}})
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
    diversity: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    pin: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """The top k items for any identity of a person; an unknown one gets a cold-start list."""
    recommender = await run_in_threadpool(models.get, model, settings.default_model)
    filters = Filters(exclude_seen=not include_seen, categories=tuple(category or ()),
                      brands=tuple(brand or ()), price_min=price_min, price_max=price_max,
                      max_per_category=max_per_category, diversity=diversity,
                      pinned=tuple(pin or ()))
    return await run_in_threadpool(recommendations_for, recommender, store, person, k,
                                   filters)


@router.get("/items/{item_id}/similar", response_model=SimilarItemsOut,
            response_model_exclude_unset=True,
            dependencies=[require("read")],
            responses={**ERROR_RESPONSES, 404: {"model": ErrorOut, "description": (
                "No trained model of that name.")}, 409: {"model": ErrorOut, "description": (
                "The catalogue changed since the model was trained.")}})
async def similar_items(
    item_id: str,
    models: ModelsDep,
    store: StoreDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    model: str | None = None,
) -> dict[str, Any]:
    """The k items most like ``item_id`` by the model (default: the one trained last), with
    their titles and catalogue fields."""
    recommender = await run_in_threadpool(models.get, model, settings.default_model)
    return await run_in_threadpool(similar_for, recommender, store, item_id, k)
