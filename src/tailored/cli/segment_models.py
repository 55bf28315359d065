"""The RFM, clustering and classifier commands of ``tailored segment``."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(group: typer.Typer) -> None:
    """Add these commands to the ``segment`` group."""
