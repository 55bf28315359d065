"""Pydantic models of the API's responses and request bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tailored.catalog import Edge, Item
from tailored.store.lookup import MatchKind

__all__ = [
    "ERROR_RESPONSES",
    "CatalogBody",
    "EdgesBody",
    "ErasedProfile",
    "ErasureResult",
    "ErrorOut",
    "HealthOut",
    "IngestResult",
    "ProfileOut",
    "ProfilesOut",
    "RecommendationsOut",
    "RejectionOut",
    "SimilarItemsOut",
    "StatsOut",
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
    warnings: list[str] | None = Field(
        None, description="Present only when part of the erasure could not complete (the "
        "SQLite write-ahead log held by readers): what is left, and how to finish.")



class ErrorOut(BaseModel):
    """Every error the API answers, whatever its status."""

    model_config = ConfigDict(extra="allow")

    success: bool = False
    error: str = Field(description="The error's class: InvalidInput, NotFound, Unauthorized, "
                       "Forbidden, PayloadTooLarge, MethodNotAllowed, ...")
    message: str
    field: str | None = Field(None, description="The part of the input that is wrong.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input; `field` names the part that is wrong."},
    401: {"model": ErrorOut, "description": "No key, or an unknown or revoked one."},
    403: {"model": ErrorOut, "description": "The key lacks the scope this needs."},
    413: {"model": ErrorOut, "description": "The body is over the size limit."},
}
"""The error answers every keyed route may give, for the OpenAPI schema."""


class _Open(BaseModel):
    # Typed where a client relies on a field; fields added later still pass through.
    model_config = ConfigDict(extra="allow")


class StatsOut(_Open):
    events: int
    events_by_type: dict[str, int] = Field(description="Track events by name, other calls "
                                           "by type.")
    events_by_call: dict[str, int] = Field(description="Events by Segment call type.")
    events_by_platform: dict[str, int]
    duplicates: int = Field(description="Repeated messageIds acknowledged and not stored.")
    profiles: int
    identified_profiles: int
    identities: int
    merges: int
    relinks: int
    items: int
    edges: int


class IdentityOut(BaseModel):
    kind: str = Field(description="user_id, email, anonymous_id or device_id.")
    value: str


class DeviceOut(_Open):
    device_id: str
    platform: str
    events: int
    last_seen: str


class ProfileOut(_Open):
    profile_id: str
    user_id: str | None
    matched_by: str | None = Field(None, description="Which kind of id the look-up matched.")
    identities: list[IdentityOut]
    devices: list[DeviceOut]
    platforms: list[str]
    traits: dict[str, Any]
    event_count: int
    first_seen: str | None
    last_seen: str | None
    merged_from: list[str] = Field(description="Profiles merged into this one.")
    merges: list[dict[str, Any]] | None = Field(None, description="With ?merges=true: every "
                                                "merge and relink, with its cause.")
    live: dict[str, Any] | None = Field(
        None, description="Live counters kept by the real-time stage: events by name, orders, "
        "revenue, items viewed/carted/bought, sessions, first/last seen, last platform and "
        "device, cart (item ids); null until a consumer has counted the person.")
    segments: list[str] = Field(default_factory=list,
                                description="The segments the person is in now.")


class ProfileSummaryOut(_Open):
    profile_id: str
    user_id: str | None
    identities: list[IdentityOut]
    event_count: int


class ProfilesOut(_Open):
    profiles: list[ProfileSummaryOut]


class RecommendedItemOut(_Open):
    item_id: str
    score: float
    reason: str = Field(description="Why this item, in words a person can read.")
    because_item_id: str | None = Field(None, description="The item of the person's history "
                                        "the reason cites, when it cites one.")
    title: str | None = Field(description="The catalogue's title; null when unknown.")
    category: list[str] | None = Field(None, description="Category path, most general "
                                       "first (absent when unknown, as are the fields below).")
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    image_url: str | None = None
    url: str | None = Field(None, description="The item's page: its url (or link) attribute.")


class RecommendationsOut(_Open):
    user: str = Field(description="The id asked about.")
    profile_id: str | None = Field(description="Their profile; null for an unknown id, who "
                                   "gets the cold-start list.")
    model: str
    items: list[RecommendedItemOut]
    preferences: dict[str, list[dict[str, Any]]] = Field(description="The brands, "
                                                         "categories and price bands they "
                                                         "favour, strongest first.")
    note: str | None = Field(None, description="Why the list is empty, when it is.")


class SimilarItemsOut(_Open):
    item: str = Field(description="The item asked about.")
    model: str
    title: str | None = Field(description="Its title; null when unknown.")
    items: list[RecommendedItemOut]


class HealthOut(BaseModel):
    status: str = Field(description="ok, or unavailable.")
    backend: str = Field(description="sqlite or postgresql.")
    store: str = Field(description="reachable, or why not.")
    migration: str | None = Field(description="The schema revision the database is at.")
    head: str | None = Field(description="The revision this version of Tailored expects.")
