"""``tailored analyze``: behaviour, demographic and text analytics of the store's customers."""

from __future__ import annotations

import typer

from tailored.cli import analyze_text

__all__ = ["analyze_app", "register"]

analyze_app = typer.Typer(
    name="analyze", no_args_is_help=True,
    help="Behaviour, demographic and text analytics of the store's customers.")


def register(app: typer.Typer) -> None:
    analyze_text.register(analyze_app)
    app.add_typer(analyze_app)
