"""Social: what a person's friends and the accounts they follow engaged with."""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.recommend.base import Recommender
from tailored.recommend.interactions import Interactions

__all__ = ["Social"]


class Social(Recommender):
    """Scores an item by the weighted engagement of the people a person is tied to.

    A tie's weight is the edge's weight (a friend counts ``friend_weight`` times, a followed
    account ``follow_weight`` times); each friend's history is normalised so one very active
    friend does not drown the others. With ``half_life_days`` (and timestamps in the
    interactions), what a friend did fades with its age, halving every that many days before
    the newest event of the data: last week's purchase of a friend says more than last
    year's. Ties come from the social graph with
    :meth:`with_ties` or as side data (:meth:`Recommender.with_side`; ``tailored train``
    reads them from the snapshot's edges).

    Examples
    --------
    >>> from tailored.recommend import Interactions, Social
    >>> data = Interactions.from_arrays(["ann", "bob", "bob"], ["x", "y", "z"])
    >>> model = Social().with_ties([("ann", "bob", "friend", 1.0)]).fit(data)
    >>> [r.reason for r in model.recommend("ann", k=1)]
    ['your friend bob engaged with it']
    """

    name = "social"
    similar_by_scores = False  # it does not relate items to each other
    scores_without_history = True

    def __init__(self, *, friend_weight: float = 1.0, follow_weight: float = 0.5,
                 half_life_days: float | None = None) -> None:
        self.friend_weight = friend_weight
        self.follow_weight = follow_weight
        self.half_life_days = half_life_days

    def with_ties(self, ties: list[tuple[str, str, str, float]],
                  names: dict[str, str] | None = None) -> Self:
        """Give the graph as (person, tied-to, kind, weight) rows, people as the model's
        user ids; ``names`` says how to call them in reasons (default: their id)."""
        self._ties = ties
        self._names = names or {}
        return self

    def _fit(self, data: Interactions) -> None:
        ties = getattr(self, "_ties", None) or self.side.ties
        index = data.user_index
        rows, cols, vals = [], [], []
        for src, dst, kind, weight in ties:
            if src in index and dst in index and src != dst:
                rows.append(index[src])
                cols.append(index[dst])
                strength = self.friend_weight if kind == "friend" else self.follow_weight
                vals.append(float(weight) * strength)
        n = len(data.user_ids)
        self.ties_ = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
        self.normalised_ = self._normalised(data)
        names = getattr(self, "_names", None) or self.side.names
        self.names_ = np.array([names.get(u, u)
                                for u in data.user_ids.tolist()], dtype=str)

    def _normalised(self, data: Interactions) -> sp.csr_matrix:
        """Each person's engagement as shares of their total, then faded by age if asked
        (after sharing: a friend whose every event is old counts little, not in full)."""
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise InvalidInput(f"half_life_days must be positive, got "
                               f"{self.half_life_days!r}", field="half_life_days")
        x = data.matrix.astype(np.float64).tocsr()
        totals = np.asarray(x.sum(axis=1)).ravel()
        x = (sp.diags(1.0 / np.maximum(totals, 1e-12)) @ x).tocsr()
        if self.half_life_days is not None and data.last_seen is not None and x.nnz:
            rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
            seen = np.asarray(data.last_seen.tocsr()[rows, x.indices]).ravel()
            age_days = (seen.max() - seen) / 86_400.0
            x.data *= np.power(0.5, age_days / self.half_life_days)
        return x

    def _ties_of(self, user: str) -> sp.csr_matrix | None:
        index = self.interactions_.user_index.get(user)
        return None if index is None else self.ties_[index]

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        # Scores depend on who asks (their ties), not only on their history row.
        ties = self._ties_of(user)
        if ties is None or ties.nnz == 0:
            return np.zeros(row.shape[1])
        return np.asarray((ties @ self.normalised_).todense()).ravel()

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        ties = self._ties_of(user)
        if ties is None:
            return "people you know liked it"
        if getattr(self, "_by_item", (None,))[0] is not self.interactions_.matrix:
            m = self.interactions_.matrix
            self._by_item = (m, m.tocsc())
        x = self._by_item[1][:, item]
        engaged = [i for i in ties.indices if x[i, 0] > 0]
        engaged.sort(key=lambda i: -ties[0, i])
        who = [str(self.names_[i]) for i in engaged[:2]]
        if not who:
            return "people you know liked it"
        if len(engaged) == 1:
            return f"your friend {who[0]} engaged with it"
        more = f" and {len(engaged) - 2} more" if len(engaged) > 2 else ""
        return f"your friends {who[0]} and {who[1]}{more} engaged with it"

    def _state(self) -> dict[str, np.ndarray]:
        t = self.ties_.tocoo()
        return {"ties_row": t.row, "ties_col": t.col, "ties_val": t.data, "names": self.names_}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        n = len(self.interactions_.user_ids)
        self.ties_ = sp.csr_matrix((state["ties_val"], (state["ties_row"], state["ties_col"])),
                                   shape=(n, n))
        self.normalised_ = self._normalised(self.interactions_)
        self.names_ = state["names"]

    def _forget_rows(self, keep: np.ndarray) -> None:
        # Their ties both ways go, and their name: no friend's reason names them again.
        self.ties_ = self.ties_.tocsr()[keep][:, keep].tocsr()
        self.names_ = np.asarray(self.names_)[keep]
        self.normalised_ = self._normalised(self.interactions_)
