"""``tailored segment``: rules, lifecycle, RFM, clusters and classifiers; membership."""

from __future__ import annotations

import typer

from tailored.cli import segment_models

__all__ = ["register", "segment_app"]

segment_app = typer.Typer(
    name="segment", no_args_is_help=True,
    help="Segments: rules, lifecycle, RFM, clusters and classifiers; membership with history.")


def register(app: typer.Typer) -> None:
    segment_models.register(segment_app)
    app.add_typer(segment_app)
