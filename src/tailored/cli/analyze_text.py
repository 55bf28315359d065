"""The text, keywords and sentiment commands of ``tailored analyze``."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(group: typer.Typer) -> None:
    """Add these commands to the ``analyze`` group."""
