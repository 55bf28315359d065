"""Recommendations for a person, each item with a reason."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import SettingsDep, StoreDep, require
from tailored.errors import NotFound
from tailored.recommend import MAX_K, Filters, Recommender
from tailored.recommend.training import load_model, model_path

__all__ = ["ModelCache", "router"]

router = APIRouter(prefix="/v1", tags=["recommendations"])


class ModelCache:
    """Trained models loaded once, and again when their file is replaced by a retrain."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._models: dict[str, tuple[float, Recommender]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Recommender:
        path = model_path(self.models_dir, name)
        mtime = path.stat().st_mtime if path.exists() else -1.0
        with self._lock:
            cached = self._models.get(name)
            if cached is None or cached[0] != mtime:
                cached = (mtime, load_model(self.models_dir, name))
                self._models[name] = cached
            return cached[1]


def _models(request: Request) -> ModelCache:
    cache = getattr(request.app.state, "models", None)
    if cache is None:
        cache = request.app.state.models = ModelCache(request.app.state.settings.models_dir)
    return cache  # type: ignore[no-any-return]


@router.get("/recommendations/{person}", dependencies=[require("read")])
async def recommendations(
    person: str,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    model: str | None = None,
    include_seen: bool = False,
    category: Annotated[list[str] | None, Query()] = None,
    brand: Annotated[list[str] | None, Query()] = None,
    price_min: float | None = None,
    price_max: float | None = None,
) -> dict[str, Any]:
    """The top k items for any identity of a person; an unknown one gets a cold-start list."""
    name = model or settings.default_model
    recommender = await run_in_threadpool(_models(request).get, name)
    try:
        profile_id: str | None = await run_in_threadpool(store.find_profile, person)
    except NotFound:
        profile_id = None
    filters = Filters(exclude_seen=not include_seen, categories=tuple(category or ()),
                      brands=tuple(brand or ()), price_min=price_min, price_max=price_max)
    items = await run_in_threadpool(recommender.recommend, profile_id or person, k, filters)
    return {"user": person, "profile_id": profile_id, "model": name,
            "items": [r.to_dict() for r in items]}
