"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tailored import __version__
from tailored.api.access_log import AccessLog
from tailored.api.docs import install_docs
from tailored.api.errors import install_error_handler
from tailored.api.openapi import install_openapi
from tailored.api.routes import (
    catalog,
    consent,
    health,
    inbox,
    people,
    projects,
    push,
    recommendations,
    segment,
    tracking,
    unsubscribe,
)
from tailored.config import Settings
from tailored.errors import NotFound
from tailored.ingest import Ingestor
from tailored.long_running import settle_heap
from tailored.realtime import webhooks
from tailored.realtime.embedded import (
    ConsumerProcess,
    RealtimeService,
    open_bus,
    runs_in_process,
)
from tailored.realtime.fresh_models import ModelFoldIn, ServingPublisher
from tailored.recommend.model_store import open_models
from tailored.recommend.training import ModelCache
from tailored.store import Store

__all__ = ["create_app"]

log = logging.getLogger("tailored.api")


def _fresh_models(app: FastAPI, settings: Settings) -> ModelFoldIn:
    """Every event, whichever process ingested it, folded into this server's models (see
    tailored.realtime.fresh_models); a retrained model is picked up by its stamp."""
    app.state.models = ModelCache(open_models(app.state.store, settings.models_folder()))
    fold_in = app.state.fold_in = ModelFoldIn(app.state.store, app.state.models,
                                              default_model=settings.default_model)
    fold_in.start(app.state.bus)
    try:  # the default model loaded now, before the heap settles, not by a first request
        app.state.models.get(None, settings.default_model)
    except NotFound:
        pass  # nothing trained yet
    except Exception as exc:  # the request that asks for it will say what is wrong
        log.warning("the default model was not loaded at start: %s", exc)
    return fold_in


def create_app(settings: Settings | None = None, *, store: Store | None = None,
               realtime: bool | None = None) -> FastAPI:
    """Build the app; it opens its own store from ``settings`` unless one is given.

    With ``realtime`` (default: the ``realtime`` setting, on) the running server publishes
    what it commits and runs the real-time consumers in a background thread."""
    settings = settings or Settings()
    if realtime is None:
        realtime = settings.realtime
    owns_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.store is None:
            app.state.store = Store.open(settings.database_url)
        service: RealtimeService | ConsumerProcess | None = None
        fold_in = None
        if realtime:
            # Real time beside the server (see tailored.realtime.embedded): live profiles
            # and segments kept by a worker process of its own that reads the store, or by
            # a thread over a bus (Redis, or on request); models fold in every event here.
            if runs_in_process(settings, app.state.store):
                service = app.state.realtime = ConsumerProcess(app.state.store, settings)
                # Redis: what this server commits goes on the stream, and other servers'
                # changes come to its models from there.
                app.state.bus = open_bus(settings) if settings.redis_url else None
            else:
                app.state.bus = open_bus(settings)
                service = app.state.realtime = RealtimeService(app.state.store,
                                                               app.state.bus)
                # Webhook deliveries go out from a thread of the server as they are
                # queued (the worker process delivers its own).
                webhooks.configure(settings.webhook_policy())
                webhooks.start_background(app.state.store)
            service.start()
            fold_in = _fresh_models(app, settings)
        app.state.ingestor = Ingestor.from_settings(
            app.state.store, settings,
            publisher=app.state.bus if fold_in is None else ServingPublisher(app.state.bus,
                                                                             fold_in))
        settle_heap()
        yield
        if fold_in is not None:
            fold_in.stop()
        if isinstance(service, RealtimeService):
            webhooks.stop_background(app.state.store)
        if service is not None:
            service.stop()  # a RealtimeService closes its bus
        if isinstance(service, ConsumerProcess) and app.state.bus is not None:
            app.state.bus.close()
        if owns_store:
            app.state.store.close()

    app = FastAPI(
        title="Tailored",
        version=__version__,
        summary="Segment-compatible event collection, profiles, catalog and social graph.",
        lifespan=lifespan,
        # /docs is served from the package (install_docs); ReDoc would need a CDN.
        docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.bus = None
    app.state.realtime = None
    app.state.fold_in = None
    app.state.ingestor = Ingestor.from_settings(store, settings) if store else None
    install_error_handler(app)
    for module in (segment, projects, people, catalog, recommendations, health,
                   unsubscribe, push, tracking, inbox, consent):
        app.include_router(module.router)
    install_openapi(app)
    install_docs(app)
    if settings.cors_origins:
        # Browsers ask first (a pre-flight) because analytics.js sends the write key in an
        # Authorization header; no cookies are involved, so no credentials are allowed.
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding",
                           "X-Retry-Count"],
            max_age=600)
    app.add_middleware(AccessLog)  # outermost: pre-flights answered by CORS are logged too
    return app
