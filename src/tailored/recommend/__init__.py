"""Recommenders: one contract, each item with a reason, fresh within moments."""

from tailored.recommend.base import MAX_K, Filters, Recommendation, Recommender
from tailored.recommend.catalog import CatalogView
from tailored.recommend.interactions import DEFAULT_WEIGHTS, Interactions, Weights
from tailored.recommend.item_knn import ItemKNN
from tailored.recommend.popular import Popular
from tailored.recommend.registry import MODELS
from tailored.recommend.social import Social

__all__ = [
    "DEFAULT_WEIGHTS",
    "MAX_K",
    "MODELS",
    "CatalogView",
    "Filters",
    "Interactions",
    "ItemKNN",
    "Popular",
    "Recommendation",
    "Recommender",
    "Social",
    "Weights",
]
