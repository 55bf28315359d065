"""Every package shows its public surface in one sorted ``__all__`` of names that exist."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["tailored.events", "tailored.catalog", "tailored.identity", "tailored.store",
            "tailored.recommend", "tailored.evaluate", "tailored.predict", "tailored.analytics",
            "tailored.segments",
            "tailored.ingest", "tailored.demo", "tailored.errors", "tailored.config",
            "tailored.extras", "tailored"]


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_every_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    public = module.__all__
    assert list(public) == sorted(public, key=_isort_key), f"{name}.__all__ is not sorted"
    for attr in public:
        assert hasattr(module, attr), f"{name}.__all__ names {attr}, which does not exist"
