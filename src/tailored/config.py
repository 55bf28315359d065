"""One typed settings object, built once at start-up and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Tailored's settings; each can be set as ``TAILORED_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TAILORED_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///tailored.db",
        description="SQLAlchemy URL of the store: sqlite:///PATH or postgresql://...",
    )
    ingest_chunk_size: int = Field(
        default=20_000, ge=1, le=200_000,
        description="Events validated, stitched and committed together in one transaction.",
    )
    max_future_seconds: int = Field(
        default=86_400, ge=0,
        description="How far past the server clock an event's timestamp may lie before it is "
        "rejected (Segment allows a day).",
    )
    models_dir: Path = Field(
        default=Path("tailored-models"),
        description="Folder where trained recommenders are saved, one .npz file a model.",
    )
    default_model: str = Field(
        default="item-knn", description="The model `tailored recommend` uses unless told."
    )
    max_event_bytes: int = Field(
        default=32 * 1024, description="Largest accepted event, as Segment's HTTP API."
    )
    max_batch_bytes: int = Field(
        default=500 * 1024, description="Largest accepted batch request, as Segment's HTTP API."
    )
    analytics_url: str | None = Field(
        default=None,
        description="PostgreSQL URL analytics run on with `--backend postgres`; unset, the "
        "store's own database when it is PostgreSQL.",
    )
