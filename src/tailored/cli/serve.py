"""``tailored serve``: the HTTP API, Segment-compatible, with OpenAPI docs at /docs."""

from __future__ import annotations

from typing import Annotated

import typer

from tailored.cli.state import state_of

__all__ = ["register"]


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API: POST /v1/track|identify|page|screen|alias|group|batch and more."""
    import uvicorn

    from tailored.api.app import create_app

    state = state_of(ctx)
    # Open (creating a new store) and migrate once, so a bad URL fails here, not per request.
    state.writable_store  # noqa: B018
    if workers > 1:
        import os

        os.environ["TAILORED_DATABASE_URL"] = state.settings.database_url
        uvicorn.run("tailored.api.app:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level="warning")
    else:
        uvicorn.run(create_app(state.settings, store=state.store), host=host, port=port,
                    log_level="warning")


def register(app: typer.Typer) -> None:
    app.command()(serve)
