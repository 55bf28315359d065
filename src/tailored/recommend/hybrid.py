"""Hybrid: a blend of recommenders, its weights learned on a validation split of training.

The validation split is carved from the interactions ``fit`` receives, never from a test
split: a share of each person's items is held out (people with fewer than two items stay
wholly in training), the sub-models learn from the rest, and the blend weights that rank
the held-out items best (NDCG@k) are kept. The sub-models are then refit on everything.

Cold start: a person with no history gets the popular items (the base does this, and the
reason says so). A person with only a few events is scored by the blend as it is; a
content-based step for them is not part of this model.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.evaluate.metrics import ndcg_at_k
from tailored.recommend.base import Recommender
from tailored.recommend.interactions import Interactions

__all__ = [
    "BLENDS",
    "VALIDATIONS",
    "Hybrid",
    "best_blend",
    "carve_validation",
    "check_validation",
    "latest_first",
    "minmax_rows",
    "validation_ndcg",
]

BLENDS = ("weighted", "rank")
# Reciprocal rank fusion's constant (Cormack et al. 2009).
RRF_K = 60.0


def carve_validation(data: Interactions, fraction: float, random_state: int | None, *,
                     latest: bool = False, per_person: int | None = None,
                     ) -> tuple[Interactions, sp.csr_matrix] | None:
    """Hold out part of each person's items: ``fraction`` of them (at least one, never all),
    or exactly ``per_person`` of them (people with no more than that stay wholly in
    training, as in a leave-last-n split). ``latest`` holds out each person's most recent
    items (``data.last_seen`` is needed), else a random choice.

    Returns the training part (same people and items as ``data``) and a 0/1 matrix of the
    held-out pairs, or ``None`` when nobody has enough items to split.

    Examples
    --------
    >>> d = Interactions.from_arrays(["a", "a", "a", "b"], ["x", "y", "z", "x"],
    ...                              timestamps=[1, 3, 2, 1])
    >>> train, held = carve_validation(d, 0.34, 0, latest=True)
    >>> int(train.matrix.nnz), held.nonzero()[1].tolist()
    (3, [1])
    """
    if not 0.0 < fraction < 1.0:
        raise InvalidInput(f"validation_fraction must be between 0 and 1, got {fraction!r}",
                           field="validation_fraction")
    if per_person is not None and per_person < 1:
        raise InvalidInput(f"validation items per person must be at least 1, got "
                           f"{per_person!r}", field="validation_items")
    if latest and data.last_seen is None:
        raise InvalidInput("a validation split by time needs the interactions' timestamps",
                           field="timestamp")
    x = data.matrix.tocsr()
    counts = np.diff(x.indptr)
    rows = np.repeat(np.arange(x.shape[0]), counts)
    # Each stored pair's time, in the order of x's stored pairs.
    when = (None if not latest or data.last_seen is None
            else np.asarray(data.last_seen.tocsr()[rows, x.indices]).ravel())
    rng = np.random.default_rng(random_state)
    hold = np.zeros(x.nnz, dtype=bool)
    for u in np.flatnonzero(counts >= (2 if per_person is None else per_person + 1)):
        n = int(counts[u])
        n_hold = (per_person if per_person is not None
                  else min(max(1, round(fraction * n)), n - 1))
        start = x.indptr[u]
        if when is not None:
            # Newest first; ties broken by item position, so the split is repeatable.
            chosen = np.argsort(-when[start:start + n], kind="stable")[:n_hold]
        else:
            chosen = rng.permutation(n)[:n_hold]
        hold[start + chosen] = True
    if not hold.any():
        return None
    held = sp.csr_matrix((np.ones(int(hold.sum())), (rows[hold], x.indices[hold])),
                         shape=x.shape)
    return data.take_pairs(~hold), held


def validation_ndcg(scores: np.ndarray, train: Interactions, held: sp.csr_matrix,
                    users: np.ndarray, k: int) -> float:
    """NDCG@k of score rows (one per person in ``users``) against the held-out items,
    what the person has in ``train`` excluded from their list."""
    s = np.array(scores, dtype=np.float64, copy=True)
    seen = train.matrix[users]
    s[np.repeat(np.arange(len(users)), np.diff(seen.indptr)), seen.indices] = -np.inf
    k = min(k, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    return float(ndcg_at_k(top, held[users], k))


VALIDATIONS = ("auto", "latest", "random")


def check_validation(validation: str) -> None:
    if validation not in VALIDATIONS:
        raise InvalidInput(f"validation must be one of {', '.join(VALIDATIONS)}, got "
                           f"{validation!r}", field="validation")


def latest_first(validation: str, data: Interactions) -> bool:
    """Whether a validation split should hold out each person's latest items."""
    return validation == "latest" or (validation == "auto" and data.last_seen is not None)


def best_blend(parts: Sequence[np.ndarray], train: Interactions, held: sp.csr_matrix,
               users: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """The weights over the simplex whose blend of ``parts`` (one score matrix per model,
    already scaled) ranks the held-out items best, and that NDCG@k."""
    n = len(parts)
    best, best_ndcg = np.full(n, 1.0 / n), -1.0
    for w in [np.full(n, 1.0 / n), *_simplex(n)]:
        blended = sum(wi * p for wi, p in zip(w, parts, strict=True))
        score = validation_ndcg(np.asarray(blended), train, held, users, k)
        if score > best_ndcg + 1e-12:
            best, best_ndcg = w, score
    return best, best_ndcg


def minmax_rows(s: np.ndarray) -> np.ndarray:
    """Each row scaled to [0, 1] (a constant row becomes all zeros)."""
    s = np.atleast_2d(np.asarray(s, dtype=np.float64))
    low = s.min(axis=1, keepdims=True)
    span = s.max(axis=1, keepdims=True) - low
    return np.where(span > 0, (s - low) / np.where(span > 0, span, 1.0), 0.0)


def _rrf(s: np.ndarray) -> np.ndarray:
    """Each row's reciprocal-rank terms ``1 / (60 + rank)``; items scored ≤ 0 get 0."""
    s = np.atleast_2d(np.asarray(s, dtype=np.float64))
    order = np.argsort(-s, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(s.shape[1])[None, :].repeat(len(s), 0), axis=1)
    return np.where(s > 0, 1.0 / (RRF_K + ranks + 1.0), 0.0)


def _simplex(n: int) -> list[np.ndarray]:
    """A grid over the weights that sum to 1 (finer for fewer models)."""
    steps = 10 if n <= 3 else 5 if n <= 5 else 2
    grid = [np.array(c, dtype=np.float64) / steps
            for c in itertools.product(range(steps + 1), repeat=n) if sum(c) == steps]
    return grid


class Hybrid(Recommender):
    """A weighted blend of other recommenders, by name.

    ``blend="weighted"`` scales each model's scores to [0, 1] per person and sums them with
    the weights; ``blend="rank"`` is weighted reciprocal rank fusion. Without ``weights``,
    they are learned by a grid over the simplex on a validation split carved from the
    training interactions (``validation_fraction`` of each person's items), maximising
    NDCG@``k``. An item's reason is that of the model contributing most to its score.

    Parameters
    ----------
    models : sequence of str
        Names in the registry.
    params : mapping, optional
        Hyperparameters per model name (e.g. ``{"ease": {"l2": 200}}``); defaults otherwise.
    blend : {"weighted", "rank"}
    weights : sequence of float, optional
        One per model; learned when omitted.
    validation_fraction, k, random_state
        The validation split and the metric the weights are learned on.
    validation : {"auto", "latest", "random"}
        Hold out each person's latest items (``"latest"``: the task a live system faces,
        needs timestamps) or a random share; ``"auto"`` is ``"latest"`` when the
        interactions have timestamps.

    Examples
    --------
    >>> from tailored.recommend import Interactions
    >>> from tailored.recommend.hybrid import Hybrid
    >>> data = Interactions.from_arrays(["a", "a", "b", "b", "c"], ["x", "y", "x", "y", "x"])
    >>> model = Hybrid(models=("item-knn", "popular"), weights=(0.7, 0.3)).fit(data)
    >>> [r.item_id for r in model.recommend("c", k=1)]
    ['y']
    """

    name = "hybrid"

    def __init__(self, *, models: Sequence[str] = ("item-knn", "ease", "popular"),
                 params: Mapping[str, Mapping[str, Any]] | None = None,
                 blend: str = "weighted", weights: Sequence[float] | None = None,
                 validation: str = "auto", validation_fraction: float = 0.2, k: int = 10,
                 random_state: int | None = 0) -> None:
        self.models = tuple(models)
        self.params = None if params is None else {m: dict(p) for m, p in params.items()}
        self.blend = blend
        self.weights = None if weights is None else tuple(float(w) for w in weights)
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.k = k
        self.random_state = random_state

    # -- fitting --------------------------------------------------------------------

    def _check(self) -> None:
        from tailored.recommend.registry import MODELS

        if self.blend not in BLENDS:
            raise InvalidInput(f"blend must be 'weighted' or 'rank', got {self.blend!r}",
                               field="blend")
        if not self.models:
            raise InvalidInput("a hybrid needs at least one model", field="models")
        unknown = [m for m in self.models if m not in MODELS or m == self.name]
        if unknown:
            raise InvalidInput(f"unknown model(s) {unknown}; known: "
                               f"{', '.join(sorted(set(MODELS) - {self.name}))}",
                               field="models")
        if len(set(self.models)) != len(self.models):
            raise InvalidInput("each model may appear once", field="models")
        extra = sorted(set(self.params or {}) - set(self.models))
        if extra:
            raise InvalidInput(f"params for model(s) not in the blend: {extra}",
                               field="params")
        check_validation(self.validation)
        if self.weights is not None and (len(self.weights) != len(self.models)
                                         or min(self.weights) < 0 or sum(self.weights) <= 0):
            raise InvalidInput("weights: one non-negative number per model, not all zero",
                               field="weights")

    def _new(self, name: str) -> Recommender:
        from tailored.recommend.registry import MODELS

        return MODELS[name](**(self.params or {}).get(name, {})).with_side(self.side)

    def _fit(self, data: Interactions) -> None:
        self._check()
        self.validation_ndcg_: float | None = None
        if self.weights is not None:
            weights = np.asarray(self.weights, dtype=np.float64)
        else:
            weights = self._learn_weights(data)
        self.weights_ = weights / weights.sum()
        self.models_ = [self._new(m).fit(data, self.catalog_) for m in self.models]
        self._share()

    def _learn_weights(self, data: Interactions) -> np.ndarray:
        n = len(self.models)
        carved = carve_validation(data, self.validation_fraction, self.random_state,
                                  latest=latest_first(self.validation, data))
        if carved is None or n == 1:
            return np.full(n, 1.0 / n)
        train, held = carved
        users = np.flatnonzero(np.diff(held.indptr) > 0)
        parts = []
        for name in self.models:
            model = self._new(name).fit(train, self.catalog_)
            rows = np.vstack([model._scores(train.matrix[u], str(train.user_ids[u]))
                              for u in users])
            parts.append(self._transform(rows))
        best, self.validation_ndcg_ = best_blend(parts, train, held, users, self.k)
        return best

    def _transform(self, scores: np.ndarray) -> np.ndarray:
        return minmax_rows(scores) if self.blend == "weighted" else _rrf(scores)

    def _share(self) -> None:
        """The sub-models see the hybrid's fresh events and signals (for their reasons)."""
        for model in self.models_:
            model.interactions_ = self.interactions_
            model.catalog_ = self.catalog_
            model.popularity_ = self.popularity_
            model._fresh = self._fresh
            model._fresh_signals = self._fresh_signals
            model._fresh_times = self._fresh_times
        self._cache: tuple[Any, str, np.ndarray] | None = None

    # -- scoring --------------------------------------------------------------------

    def _contributions(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        """Models × items: each model's weighted part of every item's score."""
        if self._cache is not None and self._cache[0] is row and self._cache[1] == user:
            return self._cache[2]
        parts = np.vstack([w * self._transform(m._scores(row, user))[0]
                           for w, m in zip(self.weights_, self.models_, strict=True)])
        self._cache = (row, user, parts)
        return parts

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        return np.asarray(self._contributions(row, user).sum(axis=0))

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        best = int(np.argmax(self._contributions(row, user)[:, item]))
        return self.models_[best]._reason(row, item, user)

    def choice(self) -> dict[str, Any] | None:
        return {"models": list(self.models),
                "weights": {m: round(float(w), 6) for m, w in zip(self.models, self.weights_,
                                                                  strict=True)},
                "validation_ndcg": (None if self.validation_ndcg_ is None
                                    else round(float(self.validation_ndcg_), 6))}

    # -- persistence ----------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        state = {"weights": np.asarray(self.weights_, dtype=np.float64)}
        for name, model in zip(self.models, self.models_, strict=True):
            state.update({f"{name}__{k}": v for k, v in model._state().items()})
        return state

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.weights_ = np.asarray(state["weights"], dtype=np.float64)
        self.validation_ndcg_ = None
        self.models_ = []
        for name in self.models:
            model = self._new(name)
            model.interactions_ = self.interactions_
            model.catalog_ = self.catalog_
            model.popularity_ = self.popularity_
            model.metadata_ = {}
            prefix = f"{name}__"
            model._restore({k[len(prefix):]: v for k, v in state.items()
                            if k.startswith(prefix)})
            self.models_.append(model)
        self._share()

    def _forget_rows(self, keep: np.ndarray) -> None:
        self._share()
        for model in self.models_:
            model._forget_rows(keep)
