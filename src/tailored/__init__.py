"""Tailored: a self-hosted personalised-marketing engine.

``from tailored import Tailored`` opens a store for notebooks (docs/python-api.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Tailored", "__version__"]

if TYPE_CHECKING:
    from tailored.python_api import Tailored


def __getattr__(name: str) -> Any:
    # Imported on first use: the CLI imports this package and should not pay for it.
    if name == "Tailored":
        from tailored.python_api import Tailored

        return Tailored
    raise AttributeError(f"module 'tailored' has no attribute {name!r}")
