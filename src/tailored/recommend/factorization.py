"""Matrix factorisation on implicit feedback: ALS and BPR through the ``implicit`` library.

Both learn a vector per item; a person's vector is always *folded in* from their current
history against the item vectors, not looked up from training. So a person known at training
time, one with a new event a moment ago and one met for the first time are scored the same
way, a new event moves a list only as far as the event warrants, and nothing is retrained:

- ALS: the exact least-squares user step, x = (YᵀCY + λI)⁻¹ YᵀCp, the same solve as
  ``implicit``'s ``recalculate_user`` (a test holds the two together).
- BPR: a few passes of BPR's own gradient over the person's items, the item side fixed,
  from a zero vector, negatives drawn as in training from a seeded generator (so one history
  always gives one list).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from functools import cache

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.special
from threadpoolctl import ThreadpoolController

from tailored.recommend.base import Recommender
from tailored.recommend.interactions import Interactions
from tailored.recommend.recency import (
    RecencyChosen,
    check_half_life,
    recency_state,
    restore_recency,
)

__all__ = ["ALS", "BPR"]

# implicit runs its own thread pool; BLAS must not start another inside each of its threads
# (implicit warns that this is up to 10x slower). ALS solves each row on its own, so its
# result does not depend on the thread count; BPR's parallel SGD races (Hogwild), so it runs
# on one thread to stay reproducible.
ALS_THREADS = min(4, os.cpu_count() or 1)
BPR_THREADS = 1
# BPR fold-in: passes over a person's items, negatives per positive, positives per pass.
FOLD_IN_STEPS = 20
FOLD_IN_NEGATIVES = 5
FOLD_IN_BATCH = 256


@cache
def _blas() -> ThreadpoolController:
    # Looked up once, on first use: limiting through it costs microseconds, not 80.
    return ThreadpoolController()


def _one_blas_thread() -> AbstractContextManager[object]:
    """A context with BLAS on one thread: for training (see above) and for the small
    products of one person's scores, which more threads only slow down."""
    return _blas().limit(limits=1, user_api="blas")


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")


class _Factorization(Recommender):
    """What ALS and BPR share: scores from folded-in vectors, reasons, persistence."""

    random_state: int | None
    item_factors_: np.ndarray
    item_bias_: np.ndarray
    user_factors_: np.ndarray

    def fold_in(self, row: sp.csr_matrix) -> np.ndarray:
        """The vector of a person whose history is ``row`` (1 × items), item vectors fixed."""
        raise NotImplementedError

    def _set_items(self, item_factors: np.ndarray, item_bias: np.ndarray) -> None:
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)
        self.item_bias_ = np.ascontiguousarray(item_bias, dtype=np.float32)
        y = self.item_factors_.astype(np.float64)
        self._y = y
        self._bias = self.item_bias_.astype(np.float64)
        self._gram = y.T @ y
        self._unit = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
        # Of items no one engaged with the model learned nothing: content and popularity
        # speak for them, not a vector left at its starting value.
        self._untrained = self.popularity_ == 0
        self._history: tuple[sp.csr_matrix, np.ndarray] | None = None

    def _predict(self, row: sp.csr_matrix) -> np.ndarray:
        return self._y @ self.fold_in(row) + self._bias

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        with _one_blas_thread():
            scores = self._predict(row)
        scores[self._untrained] = 0.0
        return scores

    def _similar_scores(self, index: int) -> np.ndarray:
        # Cosine of the learnt item vectors (as implicit's similar_items): what the
        # factorisation itself holds alike, not popularity.
        with _one_blas_thread():
            scores = self._unit @ self._unit[index]
        scores[self._untrained] = 0.0
        return scores

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        # The history item whose vector points the most the same way as the recommended one.
        history = row.indices
        if len(history):
            cached = self._history
            if cached is None or cached[0] is not row:  # reasons for one list share the row
                cached = self._history = (row, self._unit[history])
            with _one_blas_thread():
                closeness = cached[1] @ self._unit[item]
            source = self._pick_source(row, user, np.arange(len(history)), closeness)
            if source is not None:
                return self._because(source, user)
        return "people with similar taste liked it"

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_factors": self.item_factors_, "item_bias": self.item_bias_,
                "user_factors": self.user_factors_}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self._set_items(state["item_factors"], state["item_bias"])
        self.user_factors_ = state["user_factors"]

    def _forget_rows(self, keep: np.ndarray) -> None:
        self.user_factors_ = np.ascontiguousarray(self.user_factors_[keep])
        # An item only the forgotten people engaged with has no one left to speak for it.
        self._untrained = self.popularity_ == 0


class ALS(RecencyChosen, _Factorization):
    """Alternating least squares for implicit feedback (Hu, Koren and Volinsky 2008), fitted
    by ``implicit``'s CPU solver (conjugate gradient).

    An observed pair's confidence is ``alpha × weight`` (``implicit``'s convention), a pair
    never seen counts as 0 with confidence 1. A person's vector is the exact least-squares
    solution against the item vectors, so an update is seen at once.

    Parameters
    ----------
    factors : int
        Length of each person's and item's vector.
    regularization : float
        λ, the L2 penalty on every vector.
    alpha : float
        Confidence per unit of interaction weight.
    iterations : int
        Alternating passes (people, then items).
    random_state : int or None
        Seeds the initial vectors: one seed, one model.
    recency_half_life : float, None or "auto"
        A person's vector is solved from their history with the n-th newest item counting
        ``0.5 ** (n / recency_half_life)`` (items, not days), so new interests show at once.
        ``"auto"`` (the default): chosen by validation on each person's latest items when
        the interactions have timestamps (:mod:`tailored.recommend.recency`), none without.

    Attributes
    ----------
    item_factors_ : ndarray of shape (n_items, factors)
    user_factors_ : ndarray of shape (n_people, factors)
        As trained, for analysis; lists fold each person's current history in instead.
    recency_half_life_ : float or None
        The half-life validation chose (with ``recency_half_life="auto"``).

    Examples
    --------
    >>> from tailored.recommend import Interactions
    >>> from tailored.recommend.factorization import ALS
    >>> data = Interactions.from_arrays(["a", "a", "b", "b", "c"], ["x", "y", "x", "y", "x"])
    >>> [r.item_id for r in ALS(factors=2, iterations=5).fit(data).recommend("c", k=1)]
    ['y']
    """

    name = "als"
    scoring_params = ("recency_half_life",)

    def __init__(self, *, factors: int = 64, regularization: float = 0.01, alpha: float = 1.0,
                 iterations: int = 15, random_state: int | None = 0,
                 recency_half_life: float | str | None = "auto") -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.recency_half_life = recency_half_life

    def _fit(self, data: Interactions) -> None:
        _check_positive(factors=self.factors, alpha=self.alpha, iterations=self.iterations)
        if self.regularization < 0:
            raise ValueError(f"regularization must be >= 0, got {self.regularization!r}")
        check_half_life(self.recency_half_life)
        # Imported here: only training needs implicit; a saved model serves without it.
        from implicit.cpu.als import AlternatingLeastSquares

        with _one_blas_thread():
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.random_state,
                num_threads=ALS_THREADS)
            model.fit(data.matrix.astype(np.float32), show_progress=False)
        self._set_items(model.item_factors, np.zeros(len(data.item_ids)))
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self._choose_recency(data)

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        half_life = self.half_life()
        if half_life is not None and row.nnz > 1:
            row = row.copy()
            row.data = row.data * self._recency(row, user, half_life)
        return super()._scores(row, user)

    def _state(self) -> dict[str, np.ndarray]:
        return {**super()._state(), **recency_state(self)}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        super()._restore(state)
        restore_recency(self, state)

    def fold_in(self, row: sp.csr_matrix) -> np.ndarray:
        """x = (YᵀY + Yᵤᵀ(Cᵤ − I)Yᵤ + λI)⁻¹ YᵤᵀCᵤ1: only the items in ``row`` add to YᵀY."""
        history = self._y[row.indices]
        confidence = self.alpha * np.asarray(row.data, dtype=np.float64)
        # Pairs of confidence 1 add nothing to YᵀCY beyond YᵀY: skip them (all of them, for
        # 0/1 data with alpha = 1).
        extra = confidence != 1.0
        a = self._gram + (history[extra].T * (confidence[extra] - 1.0)) @ history[extra]
        a[np.diag_indices_from(a)] += self.regularization
        b = history.T @ confidence
        try:
            return np.asarray(scipy.linalg.solve(a, b, assume_a="pos"))
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            # λ = 0 with fewer items than factors: take the least-norm solution instead.
            return np.asarray(np.linalg.lstsq(a, b, rcond=None)[0])


class BPR(_Factorization):
    """Bayesian personalised ranking (Rendle et al. 2009), fitted by ``implicit``'s CPU SGD.

    Learns to rank what a person engaged with above what they did not; every interaction
    counts as one positive, whatever its weight. A person's vector is folded in by
    ``FOLD_IN_STEPS`` passes of BPR's gradient over their items with the item vectors and
    biases fixed, starting from zero, with ``learning_rate`` and ``regularization``; as in
    training, negatives are drawn in proportion to popularity (from a generator seeded by
    ``random_state``). Scores go through the logistic function, so they lie in (0, 1).

    Parameters
    ----------
    factors : int
        Length of each person's and item's vector (plus an item bias).
    learning_rate : float
        SGD step, in training and in fold-in.
    regularization : float
        L2 penalty per update.
    iterations : int
        Training epochs.
    random_state : int or None
        Seeds the initial vectors and the sampling: one seed, one model.

    Attributes
    ----------
    item_factors_ : ndarray of shape (n_items, factors)
    item_bias_ : ndarray of shape (n_items,)
    user_factors_ : ndarray of shape (n_people, factors)
        As trained, for analysis; lists fold each person's current history in instead.

    Examples
    --------
    >>> from tailored.recommend import Interactions
    >>> from tailored.recommend.factorization import BPR
    >>> data = Interactions.from_arrays(["a", "a", "b", "b", "c"], ["x", "y", "x", "y", "x"])
    >>> [r.item_id for r in BPR(factors=2).fit(data).recommend("c", k=1)]
    ['y']
    """

    name = "bpr"

    def __init__(self, *, factors: int = 64, learning_rate: float = 0.01,
                 regularization: float = 0.01, iterations: int = 100,
                 random_state: int | None = 0) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state

    def _fit(self, data: Interactions) -> None:
        _check_positive(factors=self.factors, learning_rate=self.learning_rate,
                        iterations=self.iterations)
        if self.regularization < 0:
            raise ValueError(f"regularization must be >= 0, got {self.regularization!r}")
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        with _one_blas_thread():
            model = BayesianPersonalizedRanking(
                factors=self.factors, learning_rate=self.learning_rate,
                regularization=self.regularization, iterations=self.iterations,
                random_state=self.random_state, num_threads=BPR_THREADS)
            model.fit(data.matrix.astype(np.float32), show_progress=False)
        # implicit keeps the item bias as a last column, matched by a constant 1 per person.
        items = np.asarray(model.item_factors)
        self._set_items(items[:, :-1], items[:, -1])
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)[:, :-1]

    def fold_in(self, row: sp.csr_matrix) -> np.ndarray:
        """A few BPR passes over the person's items; the item side stays fixed."""
        positives = row.indices
        y, bias = self._y, self._bias
        x = np.zeros(y.shape[1])
        if len(positives) == 0:
            return x
        # A fixed seed per call: the same history always gives the same vector and list.
        rng = np.random.default_rng(0 if self.random_state is None else self.random_state)
        # As implicit does, a negative is the item of a random interaction: drawn in
        # proportion to how many people engaged with it.
        interacted = self.interactions_.matrix.indices
        liked = np.zeros(y.shape[0], dtype=bool)
        liked[positives] = True
        batch = min(len(positives), FOLD_IN_BATCH)
        # A pass is one epoch of the person's items, as in training: with many items, a
        # sample of them stands for all (the gradient scaled up), keeping the cost bounded.
        scale = len(positives) / batch / FOLD_IN_NEGATIVES
        for _ in range(FOLD_IN_STEPS):
            i = positives if batch == len(positives) else rng.choice(positives, batch,
                                                                     replace=False)
            j = interacted[rng.integers(0, len(interacted), batch * FOLD_IN_NEGATIVES)]
            yi, yj = y[i], y[j]
            margin = np.repeat(yi @ x + bias[i], FOLD_IN_NEGATIVES) - (yj @ x + bias[j])
            # σ(−margin), zero where the "negative" is in fact one of the person's items.
            weight = scipy.special.expit(-margin) * ~liked[j]
            per_positive = weight.reshape(batch, FOLD_IN_NEGATIVES).sum(axis=1)
            gradient = (yi.T @ per_positive - yj.T @ weight) * scale
            # Training applies the penalty at every update: once per positive per pass.
            x += self.learning_rate * (gradient - self.regularization * len(positives) * x)
        return x

    def _predict(self, row: sp.csr_matrix) -> np.ndarray:
        # Only differences of BPR scores mean anything, but the base reads a score <= 0 as
        # "no evidence": the logistic function keeps the order and makes every score count.
        return np.asarray(scipy.special.expit(super()._predict(row)))
