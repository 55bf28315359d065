"""The recommenders by the names the CLI, the API and saved models use.

Looked up at call time, and each model's module imported only when that model is asked for:
serving a saved EASE model does not import scikit-learn (content) or Optuna (auto).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tailored.recommend.base import Recommender

__all__ = ["MODELS"]

# name → (module, class), in the order the CLI lists them.
_WHERE: dict[str, tuple[str, str]] = {
    "popular": ("popular", "Popular"),
    "content": ("content", "ContentBased"),
    "item-knn": ("item_knn", "ItemKNN"),
    "user-knn": ("user_knn", "UserKNN"),
    "cooccurrence": ("cooccurrence", "Cooccurrence"),
    "als": ("factorization", "ALS"),
    "bpr": ("factorization", "BPR"),
    "ease": ("ease", "EASE"),
    "social": ("social", "Social"),
    "hybrid": ("hybrid", "Hybrid"),
    "auto": ("auto", "Auto"),
}


class _Registry(Mapping[str, "type[Recommender]"]):
    """A read-only mapping of model names to classes that imports a class on first use."""

    def __getitem__(self, name: str) -> type[Recommender]:
        module, cls = _WHERE[name]
        model: type[Recommender] = getattr(import_module(f"tailored.recommend.{module}"), cls)
        return model

    def __contains__(self, name: object) -> bool:
        return name in _WHERE

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


MODELS: Mapping[str, type[Recommender]] = _Registry()
