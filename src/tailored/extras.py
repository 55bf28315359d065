"""Optional extras: the libraries only some commands need, and one way to ask for them.

The base install runs the quickstart and everything a shop needs every day. Heavier or
narrower libraries sit in extras (``pip install 'tailored[clv]'``); code that needs one
imports it through :func:`require`, so a missing extra is one clear line naming what to
install, never a traceback from deep inside a command.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from types import ModuleType

from tailored.errors import MissingExtra

__all__ = ["EXTRAS", "available", "installed_extras", "require"]

# Extra name -> (the modules it provides, what it is for). Keep in step with pyproject.toml's
# [project.optional-dependencies] (tests/test_extras.py checks both ways).
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "auto": (("optuna",), "train --model auto"),
    "clv": (("pymc_marketing", "pymc_extras"), "predict clv"),
    "forecast": (("statsmodels",), "the forecast of analyze timeseries (--horizon 0 skips it)"),
    "postgres": (("psycopg",), "PostgreSQL (as the store or analytics --backend postgres)"),
    "redis": (("redis",), "real time across processes (TAILORED_REDIS_URL)"),
    "zh": (("jieba",), "Chinese text (words, keywords, sentiment, content recommenders)"),
}


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, which the ``extra`` provides; if it cannot be imported, raise
    :class:`~tailored.errors.MissingExtra` saying which extra to install."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; extras: {', '.join(sorted(EXTRAS))}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(module, extra, EXTRAS[extra][1], cause=exc) from exc


def available(extra: str) -> bool:
    """Whether every module of ``extra`` is installed (found, not imported: cheap)."""
    modules, _ = EXTRAS[extra]
    try:
        return all(find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):
        # find_spec raises ValueError for a module whose entry in sys.modules is None,
        # which is how tests (and some launchers) hide a package.
        return False


def installed_extras() -> list[str]:
    """The extras whose modules are all installed, sorted."""
    return [name for name in sorted(EXTRAS) if available(name)]
