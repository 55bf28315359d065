"""``tailored analyze``: behaviour, demographic and text analytics of the store's customers."""

from __future__ import annotations

import typer

__all__ = ["analyze_app", "register"]

analyze_app = typer.Typer(
    name="analyze", no_args_is_help=True,
    help="Behaviour, demographic and text analytics of the store's customers.")


def register(app: typer.Typer) -> None:
    app.add_typer(analyze_app)
