"""Popularity: what most people engage with, optionally what is trending now."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tailored.recommend.base import Recommender
from tailored.recommend.interactions import Interactions

__all__ = ["Popular"]


class Popular(Recommender):
    """The most engaged-with items, by how many people engaged (``by="people"``) or by
    summed, weighted engagement (``by="weight"``, which honours time decay).

    Examples
    --------
    >>> from tailored.recommend import Interactions, Popular
    >>> data = Interactions.from_arrays(["a", "b", "b", "c"], ["x", "x", "y", "x"])
    >>> [r.item_id for r in Popular().fit(data).recommend("new person", k=2)]
    ['x', 'y']
    """

    name = "popular"
    similar_by_scores = False  # it does not relate items to each other

    def __init__(self, *, by: str = "people") -> None:
        self.by = by

    def _fit(self, data: Interactions) -> None:
        if self.by not in ("people", "weight"):
            raise ValueError(f"by must be 'people' or 'weight', got {self.by!r}")
        weight = np.asarray(data.matrix.sum(axis=0)).ravel()
        self.scores_ = self.popularity_ if self.by == "people" else weight

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        return self.scores_.astype(np.float64)

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        return f"popular: {int(self.popularity_[item])} people engaged with it"

    def _state(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores_}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.scores_ = state["scores"]
