"""The recommenders by the names the CLI, the API and saved models use.

Looked up at call time, and each model's module imported only when that model is asked for:
serving a saved EASE model does not import scikit-learn (content) or Optuna (auto).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
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


class _Registry(MutableMapping[str, "type[Recommender]"]):
    """Model names to classes, each class imported on first use; a class set under a name
    (a model of one's own, or a test's stand-in) is used as given."""

    def __init__(self) -> None:
        self._set: dict[str, type[Recommender]] = {}

    def __setitem__(self, name: str, model: type[Recommender]) -> None:
        self._set[name] = model

    def __delitem__(self, name: str) -> None:
        del self._set[name]

    def __getitem__(self, name: str) -> type[Recommender]:
        if name in self._set:
            return self._set[name]
        module, cls = _WHERE[name]
        model: type[Recommender] = getattr(import_module(f"tailored.recommend.{module}"), cls)
        return model

    def __contains__(self, name: object) -> bool:
        return name in _WHERE or name in self._set

    def __iter__(self) -> Iterator[str]:
        return iter([*_WHERE, *(n for n in self._set if n not in _WHERE)])

    def __len__(self) -> int:
        return len(set(_WHERE) | set(self._set))


MODELS: MutableMapping[str, type[Recommender]] = _Registry()
