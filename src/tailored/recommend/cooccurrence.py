"""Co-occurrence: "often bought together" and "people who viewed this bought that"."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.recommend.base import Recommender
from tailored.recommend.interactions import SIGNALS, Interactions

__all__ = ["Cooccurrence"]

MODES = ("together", "then")
ORDER = SIGNALS.index("order") + 1  # the code kept in Interactions.strongest


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    out = m.astype(np.float64).tocsr(copy=True)
    out.data[:] = 1.0
    out.eliminate_zeros()
    return out


class Cooccurrence(Recommender):
    """Scores an item by how often people who have a person's items also have it.

    For a pair of items ``i`` and ``j`` the model learns the conditional probability
    ``P(j | i)``: of the people on the "if" side for ``i``, the share on the "then" side for
    ``j``, counting only pairs seen with at least ``min_support`` people (rarer pairs are
    mostly chance). A person's score for ``j`` is the sum of ``P(j | i)`` over the items
    ``i`` they have. Conditional probability rather than lift: lift divides by ``P(j)`` and
    so puts items that one or two people have at the top, which a marketer cannot trust.

    The interaction matrix has one row per person and no order ids, so "together" means "in
    the same person's history", not "in the same basket".

    - ``mode="together"``: both sides are "engaged with, by any signal": "often bought
      together with X" (said "chosen" unless every event the model learned from is an order).
    - ``mode="then"``: "viewed then bought". The true sequence needs the order of events in
      time, which the matrix does not keep; it is approximated from each pair's strongest
      signal: the "if" side is people who engaged with ``i`` without buying it (viewed,
      clicked, carted...), the "then" side people who bought ``j`` — "people who viewed X
      bought it". Needs both orders and lesser signals in the data.

    Examples
    --------
    >>> from tailored.recommend import Interactions
    >>> from tailored.recommend.cooccurrence import Cooccurrence
    >>> data = Interactions.from_arrays(["a", "a", "b", "b", "c", "c", "d"],
    ...                                 ["x", "y", "x", "y", "x", "z", "x"])
    >>> recs = Cooccurrence().fit(data).recommend("d", k=1)
    >>> [(r.item_id, r.score, r.reason) for r in recs]
    [('y', 0.5, 'often chosen together with x')]
    """

    name = "cooccurrence"

    def __init__(self, *, mode: str = "together", min_support: int = 2) -> None:
        self.mode = mode
        self.min_support = min_support

    def _fit(self, data: Interactions) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"mode must be 'together' or 'then', got {self.mode!r}",
                               field="mode")
        if (not isinstance(self.min_support, int) or isinstance(self.min_support, bool)
                or self.min_support < 1):
            raise InvalidInput(f"min_support must be a whole number of at least 1, got "
                               f"{self.min_support!r}", field="min_support")
        engaged = _binary(data.matrix)
        is_order = data.strongest.astype(np.float64).tocsr(copy=True)
        is_order.data = (is_order.data == ORDER).astype(np.float64)
        bought = engaged.multiply(is_order).tocsr()
        bought.eliminate_zeros()
        if self.mode == "together":
            left = right = engaged
        else:
            left, right = (engaged - bought).tocsr(), bought
            left.eliminate_zeros()
            if bought.nnz == 0 or left.nnz == 0:
                raise InvalidInput(
                    "mode='then' counts people who viewed one item and bought another, so it "
                    f"needs both orders and lesser signals; this data has {bought.nnz} bought "
                    f"and {left.nnz} viewed-but-not-bought pairs: use mode='together'",
                    field="mode")
        counts = (left.T @ right).tocoo()  # [i, j]: people with i on the left, j on the right
        base = np.asarray(left.sum(axis=0)).ravel()
        keep = (counts.row != counts.col) & (counts.data >= self.min_support)
        rows, cols = counts.row[keep], counts.col[keep]
        self.probability_ = sp.csr_matrix((counts.data[keep] / base[rows], (rows, cols)),
                                          shape=counts.shape)
        self.orders_only_ = np.array(bought.nnz == engaged.nnz)
        self._by_target = self.probability_.tocsc()

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        # Whatever the person did with an item, it puts them on its "if" side.
        return np.asarray((_binary(row) @ self.probability_).todense()).ravel()

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        # Column ``item`` of the probabilities, read from a CSC copy: slicing a column out of
        # the CSR matrix scans all of it, too slow to do for every item of every list.
        p = self._by_target
        start, end = p.indptr[item], p.indptr[item + 1]
        column = np.zeros(p.shape[0])
        column[p.indices[start:end]] = p.data[start:end]
        contributions = column[row.indices]
        source = self._pick_source(row, user, np.arange(row.nnz), contributions)
        if source is None:
            return "often chosen together with what you have"
        label = self.catalog_.label(source, str(self.interactions_.item_ids[source]))
        if self.mode == "then":
            return f"people who viewed {label} bought it"
        verb = "bought" if bool(self.orders_only_) else "chosen"
        return f"often {verb} together with {label}"

    def _state(self) -> dict[str, np.ndarray]:
        p = self.probability_
        return {"p_data": p.data, "p_indices": p.indices, "p_indptr": p.indptr,
                "p_shape": np.array(p.shape), "orders_only": self.orders_only_}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.probability_ = sp.csr_matrix(
            (state["p_data"], state["p_indices"], state["p_indptr"]),
            shape=tuple(state["p_shape"]))
        self.orders_only_ = state["orders_only"]
        self._by_target = self.probability_.tocsc()
