"""Recommenders: one contract, each item with a reason, fresh within moments."""

from typing import TYPE_CHECKING, Any

from tailored.recommend.base import MAX_K, Filters, Recommendation, Recommender
from tailored.recommend.catalog import CatalogView
from tailored.recommend.interactions import DEFAULT_WEIGHTS, Interactions, Weights
from tailored.recommend.registry import MODELS
from tailored.recommend.side import SideData

if TYPE_CHECKING:
    from tailored.recommend.auto import Auto
    from tailored.recommend.content import ContentBased
    from tailored.recommend.cooccurrence import Cooccurrence
    from tailored.recommend.ease import EASE
    from tailored.recommend.factorization import ALS, BPR
    from tailored.recommend.hybrid import Hybrid
    from tailored.recommend.item_knn import ItemKNN
    from tailored.recommend.popular import Popular
    from tailored.recommend.social import Social
    from tailored.recommend.user_knn import UserKNN

# The models load on first use (scikit-learn, Optuna and implicit are heavy to import).
_LAZY = {"ALS": "als", "BPR": "bpr", "EASE": "ease", "Auto": "auto", "ContentBased": "content",
         "Cooccurrence": "cooccurrence", "Hybrid": "hybrid", "ItemKNN": "item-knn",
         "Popular": "popular", "Social": "social", "UserKNN": "user-knn"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return MODELS[_LAZY[name]]
    raise AttributeError(f"module 'tailored.recommend' has no attribute {name!r}")


__all__ = [
    "ALS",
    "BPR",
    "DEFAULT_WEIGHTS",
    "EASE",
    "MAX_K",
    "MODELS",
    "Auto",
    "CatalogView",
    "ContentBased",
    "Cooccurrence",
    "Filters",
    "Hybrid",
    "Interactions",
    "ItemKNN",
    "Popular",
    "Recommendation",
    "Recommender",
    "SideData",
    "Social",
    "UserKNN",
    "Weights",
]
