"""The catalog and the social graph: upserted by API, read by the recommenders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import StoreDep, require
from tailored.api.schemas import CatalogBody, EdgesBody, UpsertResult
from tailored.catalog import Item
from tailored.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.post("/catalog", response_model=UpsertResult, dependencies=[require("catalog")])
async def upsert_items(body: CatalogBody, store: StoreDep) -> UpsertResult:
    """Create or update many items at once."""
    return UpsertResult(upserted=await run_in_threadpool(store.upsert_items, body.items))


@router.put("/items/{item_id}", response_model=UpsertResult, dependencies=[require("catalog")])
async def put_item(item_id: str, item: Item, store: StoreDep) -> UpsertResult:
    if item.item_id != item_id:
        raise InvalidInput(f"item_id: {item.item_id!r} in the body, {item_id!r} in the path",
                           field="item_id")
    return UpsertResult(upserted=await run_in_threadpool(store.upsert_items, [item]))


@router.get("/items/{item_id}", dependencies=[require("read")])
async def get_item(item_id: str, store: StoreDep) -> dict[str, Any]:
    return await run_in_threadpool(store.get_item, item_id)


@router.post("/edges", response_model=UpsertResult, dependencies=[require("catalog")])
async def upsert_edges(body: EdgesBody, store: StoreDep) -> UpsertResult:
    """Create or update friend and follow edges between people."""
    return UpsertResult(upserted=await run_in_threadpool(store.upsert_edges, body.edges))
