"""The ``tailored`` command."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from tailored import __version__
from tailored.cli import (
    analyze,
    audience,
    campaign,
    config,
    consent,
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
    template,
    webhook,
    worker,
)
from tailored.cli.state import AppState
from tailored.config import Settings, settings_error
from tailored.errors import InvalidInput, TailoredError

__all__ = ["app", "main"]

app = typer.Typer(
    name="tailored",
    help="Tailored: collect customers' events from every device into one profile per person, "
    "understand them, recommend, reach and measure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tailored {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    _version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the version and exit.")] = False,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="TAILORED_DATABASE_URL", show_envvar=True,
        help="Database URL: sqlite:///PATH (default sqlite:///tailored.db in the current "
        "folder) or postgresql://USER@HOST/DB.")] = None,
) -> None:
    # --db from the command line outranks the environment; typer also fills it from
    # TAILORED_DATABASE_URL, which Settings reads itself (so `config` can say where it came
    # from).
    # By name: typer may bring its own copy of click, with its own enum.
    from_line = getattr(ctx.get_parameter_source("db"), "name", "") == "COMMANDLINE"
    given: dict[str, Any] = {"database_url": db} if db is not None and from_line else {}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        raise InvalidInput(settings_error(exc)) from None
    state = AppState(settings=settings, options=set(given))
    ctx.obj = state
    ctx.call_on_close(state.close)


for module in (ingest, people, events, keys, serve, demo, export, recommend, evaluate, analyze,
               segment, predict, config, worker, webhook, template, consent, campaign,
               audience):
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
