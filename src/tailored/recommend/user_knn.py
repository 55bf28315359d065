"""User-based collaborative filtering: what the people most like a person engaged with."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.recommend.base import Recommender
from tailored.recommend.interactions import Interactions

__all__ = ["UserKNN"]

SIMILARITIES = ("cosine", "pearson", "euclidean")


def _column(m: sp.csr_matrix, v: sp.csr_matrix) -> np.ndarray:
    """``m @ vᵀ`` for a 1 × items row ``v``, as a flat array over ``m``'s rows."""
    return np.asarray((m @ v.T).todense()).ravel()


class UserKNN(Recommender):
    """Scores an item by how much the ``neighbors`` people most similar to a person engaged
    with it: the sum of each neighbour's similarity times their weight on the item.

    Neighbours are found when a list is asked for, comparing the person's current row with
    every person's, so a new person's first events or a known person's fresh ones count at
    once. Similarity over the items two people share:

    - ``cosine``: of their weight vectors;
    - ``pearson``: the correlation of their weights over the items both engaged with, each
      centred on the person's own mean (needs varying weights, such as star ratings: on 0/1
      data every weight equals its mean and no one is similar);
    - ``euclidean``: ``1 / (1 + d)`` with ``d`` the distance between their weights over the
      items both engaged with.

    Each is shrunk towards zero for pairs with few items in common (``n / (n + shrinkage)``).
    People none of whose items is new to the person are never neighbours: they cannot add
    anything, and this is also what keeps a person from being their own neighbour.

    Examples
    --------
    >>> from tailored.recommend import Interactions
    >>> from tailored.recommend.user_knn import UserKNN
    >>> data = Interactions.from_arrays(["a", "a", "a", "b", "b", "c", "c"],
    ...                                 ["x", "y", "z", "x", "y", "w", "v"])
    >>> recs = UserKNN(shrinkage=0.0).fit(data).recommend("b", k=1)
    >>> [(r.item_id, r.reason) for r in recs]
    [('z', '1 person with similar taste to yours engaged with it')]
    """

    name = "user-knn"

    def __init__(self, *, similarity: str = "cosine", neighbors: int = 50,
                 shrinkage: float = 10.0) -> None:
        self.similarity = similarity
        self.neighbors = neighbors
        self.shrinkage = shrinkage

    def _fit(self, data: Interactions) -> None:
        if self.similarity not in SIMILARITIES:
            raise InvalidInput(f"similarity must be cosine, pearson or euclidean, got "
                               f"{self.similarity!r}", field="similarity")
        if self.neighbors < 1:
            raise InvalidInput("neighbors must be at least 1", field="neighbors")
        if self.shrinkage < 0:
            raise InvalidInput("shrinkage must not be negative", field="shrinkage")
        self._prepare(data)

    def _prepare(self, data: Interactions) -> None:
        """What every comparison needs, all derived from the interactions (so not saved)."""
        x = data.matrix.astype(np.float64).tocsr()
        self._x = x
        self._binary = x.copy()
        self._binary.data[:] = 1.0
        self._counts = np.diff(x.indptr)
        if self.similarity == "cosine":
            self._norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        elif self.similarity == "pearson":
            self._centred = _centre(x)
            self._centred_sq = self._centred.multiply(self._centred).tocsr()
        else:
            self._squares = x.multiply(x).tocsr()
        self._last: tuple[bytes, np.ndarray, np.ndarray] | None = None

    def _similarities(self, row: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """The person's neighbours (row indices) and their similarity, best first."""
        key = row.indices.tobytes() + row.data.astype(np.float64).tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1], self._last[2]
        r = sp.csr_matrix(row, dtype=np.float64)
        mask = r.copy()
        mask.data[:] = 1.0
        common = _column(self._binary, mask)
        if self.similarity == "cosine":
            norm = np.sqrt(r.multiply(r).sum())
            sim = _column(self._x, r) / (self._norms * norm + 1e-12)
        elif self.similarity == "pearson":
            c = _centre(r)
            # Sums over the items both people engaged with only.
            num = _column(self._centred, c)
            den = _column(self._centred_sq, mask) * _column(self._binary, c.multiply(c))
            sim = np.divide(num, np.sqrt(den), out=np.zeros_like(num), where=den > 0)
        else:
            d2 = (_column(self._squares, mask) + _column(self._binary, r.multiply(r))
                  - 2.0 * _column(self._x, r))
            sim = np.where(common > 0, 1.0 / (1.0 + np.sqrt(np.maximum(d2, 0.0))), 0.0)
        sim = sim * common / (common + self.shrinkage + 1e-12)
        sim[self._counts <= common] = 0.0  # nothing new to offer (including the person)
        candidates = np.flatnonzero(sim > 0)
        if len(candidates) > self.neighbors:
            candidates = candidates[np.argpartition(-sim[candidates], self.neighbors - 1)
                                    [:self.neighbors]]
        order = candidates[np.lexsort((candidates, -sim[candidates]))]
        self._last = (key, order, sim[order])
        return order, sim[order]

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        people, sim = self._similarities(row)
        if len(people) == 0:
            return np.zeros(self._x.shape[1])
        weights = sp.csr_matrix((sim, (np.zeros(len(people), dtype=np.int64), people)),
                                shape=(1, self._x.shape[0]))
        return np.asarray((weights @ self._x).todense()).ravel()

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        people, _ = self._similarities(row)
        n = int(np.count_nonzero(self._x[people, item].toarray()))
        if n == 0:
            return "people with similar taste liked it"
        who = "1 person" if n == 1 else f"{n} people"
        return f"{who} with similar taste to yours engaged with it"

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self._prepare(self.interactions_)

    def _forget_rows(self, keep: np.ndarray) -> None:
        self._prepare(self.interactions_)


def _centre(x: sp.csr_matrix) -> sp.csr_matrix:
    """Each row's stored weights minus that row's mean over them."""
    counts = np.diff(x.indptr)
    means = np.asarray(x.sum(axis=1)).ravel() / np.maximum(counts, 1)
    centred = x.copy()
    centred.data = x.data - np.repeat(means, counts)
    return centred
