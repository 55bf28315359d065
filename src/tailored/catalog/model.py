"""Catalog items and social edges, as they come in through every path."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Edge", "Item"]


class Item(BaseModel):
    """A product, film, song or anything else that can be recommended."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    item_id: str = Field(min_length=1, max_length=256)
    title: str | None = None
    description: str | None = None
    # Most general first: ["Home", "Kitchen", "Mugs"]. Text "Home > Kitchen > Mugs" is split.
    category: list[str] = Field(default_factory=list)
    brand: str | None = None
    price: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    image_url: str | None = None
    available: bool = True
    updated_at: datetime | None = None

    @field_validator("item_id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("category", mode="before")
    @classmethod
    def _split_path(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str):
            sep = ">" if ">" in v else "/"
            return [part.strip() for part in v.split(sep) if part.strip()]
        return v

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str):
            sep = "|" if "|" in v else ","
            return [t.strip() for t in v.split(sep) if t.strip()]
        return v

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v


class Edge(BaseModel):
    """A user-to-user tie: ``src`` is a friend of, or follows, ``dst``.

    Both ends are user ids as the source knows them; they are resolved to profiles when read,
    so merges and relinks never leave an edge pointing at a stale profile.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    src: str = Field(min_length=1, max_length=256)
    dst: str = Field(min_length=1, max_length=256)
    kind: Literal["friend", "follow"] = "friend"
    weight: float = Field(default=1.0, gt=0)

    @field_validator("src", "dst", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v
