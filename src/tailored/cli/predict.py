"""``tailored predict``: predictions: purchase propensity, churn and customer lifetime value."""

from __future__ import annotations

import typer

__all__ = ["predict_app", "register"]

predict_app = typer.Typer(
    name="predict", no_args_is_help=True,
    help="Predictions: purchase propensity, churn and customer lifetime value.")


def register(app: typer.Typer) -> None:
    app.add_typer(predict_app)
