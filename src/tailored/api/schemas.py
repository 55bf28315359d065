"""Pydantic models of the API's responses and request bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tailored.catalog import Edge, Item

__all__ = ["CatalogBody", "EdgesBody", "IngestResult", "RejectionOut", "UpsertResult"]


class RejectionOut(BaseModel):
    index: int = Field(description="Position of the event in the batch, from 0.")
    field: str
    reason: str


class IngestResult(BaseModel):
    success: bool = True
    accepted: int
    duplicates: int
    rejected: list[RejectionOut]


class CatalogBody(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=10_000)


class EdgesBody(BaseModel):
    edges: list[Edge] = Field(min_length=1, max_length=10_000)


class UpsertResult(BaseModel):
    success: bool = True
    upserted: int


ProfileOut = dict[str, Any]
