"""The recommenders by the names the CLI, the API and saved models use."""

from __future__ import annotations

from tailored.recommend.auto import Auto
from tailored.recommend.base import Recommender
from tailored.recommend.content import ContentBased
from tailored.recommend.cooccurrence import Cooccurrence
from tailored.recommend.ease import EASE
from tailored.recommend.factorization import ALS, BPR
from tailored.recommend.hybrid import Hybrid
from tailored.recommend.item_knn import ItemKNN
from tailored.recommend.popular import Popular
from tailored.recommend.social import Social
from tailored.recommend.user_knn import UserKNN

__all__ = ["MODELS"]

MODELS: dict[str, type[Recommender]] = {
    m.name: m for m in (Popular, ContentBased, ItemKNN, UserKNN, Cooccurrence, ALS, BPR, EASE,
                        Social, Hybrid, Auto)
}
