"""Pydantic models of the API's responses and request bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tailored.catalog import Edge, Item
from tailored.store.lookup import MatchKind

__all__ = [
    "CatalogBody",
    "EdgesBody",
    "ErasedProfile",
    "ErasureResult",
    "IngestResult",
    "RejectionOut",
    "UpsertResult",
]


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


class ErasedProfile(BaseModel):
    profile_id: str
    rows: dict[str, int] = Field(description="Rows deleted for this profile, table by table.")


class ErasureResult(BaseModel):
    profile_id: str = Field(description="The first profile the id matched.")
    matched_by: MatchKind = Field(description="Which kind of id matched it.")
    rows: dict[str, int] = Field(
        description="Rows deleted, table by table, summed over every profile erased.")
    erased: list[ErasedProfile]


ProfileOut = dict[str, Any]
