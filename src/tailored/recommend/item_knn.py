"""Item-based collaborative filtering: items like the ones a person engaged with."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tailored.recommend.base import Recommender
from tailored.recommend.interactions import Interactions

__all__ = ["ItemKNN"]


def _top_k_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries."""
    m = m.tocsr()
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        start, end = m.indptr[r], m.indptr[r + 1]
        if end == start:
            continue
        data, idx = m.data[start:end], m.indices[start:end]
        if end - start > k:
            keep = np.argpartition(-data, k - 1)[:k]
            data, idx = data[keep], idx[keep]
        rows.append(np.full(len(idx), r))
        cols.append(idx)
        vals.append(data)
    if not rows:
        return sp.csr_matrix(m.shape)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=m.shape)


class ItemKNN(Recommender):
    """Scores an item by its similarity to what the person engaged with.

    Similarity over people: ``cosine``, ``jaccard`` or ``pearson`` (adjusted cosine, each
    person's mean removed), shrunk towards zero for items with few people in common
    (``shrinkage``), keeping each item's ``neighbors`` nearest.

    Examples
    --------
    >>> from tailored.recommend import Interactions, ItemKNN
    >>> data = Interactions.from_arrays(["a", "a", "b", "b", "c"], ["x", "y", "x", "y", "x"])
    >>> [r.item_id for r in ItemKNN(neighbors=10).fit(data).recommend("c", k=1)]
    ['y']
    """

    name = "item-knn"

    def __init__(self, *, similarity: str = "cosine", neighbors: int = 100,
                 shrinkage: float = 10.0) -> None:
        self.similarity = similarity
        self.neighbors = neighbors
        self.shrinkage = shrinkage

    def _fit(self, data: Interactions) -> None:
        if self.similarity not in ("cosine", "jaccard", "pearson"):
            raise ValueError(f"similarity must be cosine, jaccard or pearson, "
                             f"got {self.similarity!r}")
        if self.neighbors < 1:
            raise ValueError("neighbors must be at least 1")
        x = data.matrix.astype(np.float64).tocsr()
        binary = x.copy()
        binary.data[:] = 1.0
        common = (binary.T @ binary).tocsr()  # people in common per item pair
        if self.similarity == "jaccard":
            counts = np.asarray(binary.sum(axis=0)).ravel()
            co = common.tocoo()
            sim = co.data / (counts[co.row] + counts[co.col] - co.data)
        else:
            if self.similarity == "pearson":
                means = np.asarray(x.sum(axis=1)).ravel() / np.maximum(np.diff(x.indptr), 1)
                x = x.copy()
                x.data = x.data - np.repeat(means, np.diff(x.indptr))
            dots = (x.T @ x).tocsr()
            norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
            co = dots.tocoo()
            sim = co.data / (norms[co.row] * norms[co.col] + 1e-12)
        # Shrink pairs seen together by few people: their similarity is mostly noise.
        picked = common[co.row, co.col]
        n_common = np.asarray(picked.todense() if sp.issparse(picked) else picked).ravel()
        sim = sim * n_common / (n_common + self.shrinkage)
        off_diagonal = (co.row != co.col) & (sim > 0)
        s = sp.csr_matrix((sim[off_diagonal], (co.row[off_diagonal], co.col[off_diagonal])),
                          shape=common.shape)
        self.similarity_ = _top_k_per_row(s, self.neighbors).T.tocsr()  # column j: j's peers
        self._by_item = None

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        return np.asarray((row @ self.similarity_).todense()).ravel()

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        # Column access on the CSR similarity is slow; a CSC copy makes each reason cheap.
        by_item = getattr(self, "_by_item", None)
        if by_item is None:
            by_item = self._by_item = self.similarity_.tocsc()
        peers = by_item[:, item]
        shared, in_row, in_peers = np.intersect1d(row.indices, peers.indices,
                                                  return_indices=True)
        if len(shared) == 0:
            return "people with similar taste liked it"
        weights = row.data[in_row] * peers.data[in_peers]
        source = self._pick_source(row, user, in_row, weights)
        return ("people with similar taste liked it" if source is None
                else self._because(source, user))

    def _state(self) -> dict[str, np.ndarray]:
        s = self.similarity_
        return {"sim_data": s.data, "sim_indices": s.indices, "sim_indptr": s.indptr,
                "sim_shape": np.array(s.shape)}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.similarity_ = sp.csr_matrix(
            (state["sim_data"], state["sim_indices"], state["sim_indptr"]),
            shape=tuple(state["sim_shape"]))
        self._by_item = None
