"""The ``tailored`` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tailored.cli import (
    analyze,
    demo,
    evaluate,
    events,
    export,
    ingest,
    keys,
    people,
    predict,
    recommend,
    segment,
    serve,
)
from tailored.cli.state import AppState
from tailored.config import Settings
from tailored.errors import TailoredError

__all__ = ["app", "main"]

app = typer.Typer(
    name="tailored",
    help="Tailored: collect customers' events from every device into one profile per person, "
    "understand them, recommend, reach and measure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="TAILORED_DATABASE_URL", show_envvar=True,
        help="Database URL: sqlite:///PATH (default sqlite:///tailored.db in the current "
        "folder) or postgresql://USER@HOST/DB.")] = None,
) -> None:
    settings = Settings() if db is None else Settings(database_url=db)
    state = AppState(settings=settings)
    ctx.obj = state
    ctx.call_on_close(state.close)


for module in (ingest, people, events, keys, serve, demo, export, recommend, evaluate, analyze,
               segment, predict):
    module.register(app)


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit status 1."""
    try:
        app()
    except TailoredError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
