"""The recommenders by the names the CLI, the API and saved models use."""

from __future__ import annotations

from tailored.recommend.base import Recommender
from tailored.recommend.item_knn import ItemKNN
from tailored.recommend.popular import Popular
from tailored.recommend.social import Social

__all__ = ["MODELS"]

MODELS: dict[str, type[Recommender]] = {m.name: m for m in (Popular, ItemKNN, Social)}
