"""``tailored serve``: the HTTP API, Segment-compatible, with OpenAPI docs at /docs."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from tailored.cli.state import state_of

__all__ = ["register"]


def log_config(access_log: bool) -> dict[str, Any]:
    """uvicorn's logging, plus Tailored's own masked request log on stderr.

    uvicorn's access log is off: it writes raw paths, ids and e-mails included
    (see tailored.api.access_log).
    """
    from uvicorn.config import LOGGING_CONFIG

    from tailored.api.access_log import ACCESS_LOGGER

    config: dict[str, Any] = {**LOGGING_CONFIG,
                              "formatters": dict(LOGGING_CONFIG["formatters"]),
                              "handlers": dict(LOGGING_CONFIG["handlers"]),
                              "loggers": dict(LOGGING_CONFIG["loggers"])}
    config["formatters"]["tailored"] = {"format": "%(asctime)s %(message)s",
                                        "datefmt": "%Y-%m-%dT%H:%M:%S%z"}
    config["handlers"]["tailored"] = {"formatter": "tailored", "class": "logging.StreamHandler",
                                      "stream": "ext://sys.stderr"}
    config["loggers"][ACCESS_LOGGER] = {"handlers": ["tailored"], "propagate": False,
                                        "level": "INFO" if access_log else "WARNING"}
    return config


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log",
        help="Log each request on stderr, with ids, e-mails and keys in paths masked.")] = True,
    realtime: Annotated[bool | None, typer.Option(
        "--realtime/--no-realtime",
        help="Run the real-time stage in the server (live profiles and segments, fresh "
        "models, webhooks); default: the realtime setting (on).")] = None,
) -> None:
    """Serve the HTTP API: POST /v1/track|identify|page|screen|alias|group|batch and more.

    Prints where it listens on stderr, then one line a request.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from tailored import __version__
    from tailored.api.app import create_app

    state = state_of(ctx)
    # Open (creating a new store) and migrate once, so a bad URL fails here, not per request.
    store = state.writable_store
    if realtime is not None:
        state.settings = state.settings.model_copy(update={"realtime": realtime})
    logging = {"log_level": "warning", "log_config": log_config(access_log),
               "access_log": False}
    if workers > 1:
        import os

        os.environ["TAILORED_DATABASE_URL"] = state.settings.database_url
        os.environ["TAILORED_REALTIME"] = "true" if state.settings.realtime else "false"
        config = uvicorn.Config("tailored.api.app:create_app", factory=True, host=host,
                                port=port, workers=workers, **logging)  # type: ignore[arg-type]
    else:
        config = uvicorn.Config(create_app(state.settings, store=store), host=host, port=port,
                                **logging)  # type: ignore[arg-type]
    sock = config.bind_socket()  # says why in one line and exits 1 when the port is taken
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{bound_host if ':' not in bound_host else f'[{bound_host}]'}:{bound_port}"
    everywhere = " (all interfaces)" if bound_host in ("0.0.0.0", "::") else ""
    print(f"Tailored {__version__} listening on {url}{everywhere} with "
          f"{workers} worker{'s' if workers > 1 else ''}, store {store.url}\n"
          f"  API {url}/v1   docs {url}/docs   health {url}/health   (Ctrl+C to stop)",
          file=sys.stderr, flush=True)
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    app.command()(serve)
