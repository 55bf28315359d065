"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tailored import __version__
from tailored.api.errors import install_error_handler
from tailored.api.routes import catalog, people, recommendations, segment
from tailored.config import Settings
from tailored.ingest import Ingestor
from tailored.store import Store

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the app; it opens its own store from ``settings`` unless one is given."""
    settings = settings or Settings()
    owns_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.store is None:
            app.state.store = Store.open(settings.database_url)
        app.state.ingestor = Ingestor.from_settings(app.state.store, settings)
        yield
        if owns_store:
            app.state.store.close()

    app = FastAPI(
        title="Tailored",
        version=__version__,
        summary="Segment-compatible event collection, profiles, catalog and social graph.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.ingestor = Ingestor.from_settings(store, settings) if store else None
    install_error_handler(app)
    for module in (segment, people, catalog, recommendations):
        app.include_router(module.router)
    return app
