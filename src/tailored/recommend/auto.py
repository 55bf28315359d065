"""Auto: pick and tune the best recommender for a data set, on a validation split carved from
the training interactions (Optuna), never on a test split.

``fit`` only ever sees what it is given: a share of each person's items is held out of that
for validation, each candidate's main hyperparameters are tuned there by NDCG@k, and the best
candidate is refit on all of the given interactions. The model then behaves as that one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.extras import require
from tailored.recommend.base import Recommender
from tailored.recommend.hybrid import (
    best_blend,
    carve_validation,
    check_validation,
    latest_first,
    minmax_rows,
    validation_ndcg,
)
from tailored.recommend.interactions import Interactions

__all__ = ["SEARCH_SPACES", "Auto"]

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

Space = Callable[["BaseTrial"], dict[str, Any]]

SEARCH_SPACES: dict[str, Space] = {
    "item-knn": lambda t: {
        "similarity": t.suggest_categorical("similarity", ["cosine", "jaccard", "pearson"]),
        "neighbors": t.suggest_int("neighbors", 5, 400, log=True),
        "shrinkage": t.suggest_float("shrinkage", 0.0, 100.0),
    },
    "user-knn": lambda t: {
        "similarity": t.suggest_categorical("similarity", ["cosine", "pearson"]),
        "neighbors": t.suggest_int("neighbors", 5, 300, log=True),
        "shrinkage": t.suggest_float("shrinkage", 0.0, 100.0),
    },
    # A few values, so trials that differ only in a scoring parameter reuse one fit.
    "ease": lambda t: {
        "l2": t.suggest_categorical("l2", [50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0]),
        "recency_half_life": t.suggest_categorical("recency_half_life",
                                                   [None, 2.0, 5.0, 10.0, 20.0, 50.0]),
    },
    "als": lambda t: {
        "factors": t.suggest_categorical("factors", [16, 32, 64, 128]),
        "recency_half_life": t.suggest_categorical("recency_half_life",
                                                   [None, 2.0, 5.0, 10.0, 20.0, 50.0]),
        "regularization": t.suggest_float("regularization", 1e-3, 10.0, log=True),
        "alpha": t.suggest_float("alpha", 0.5, 40.0, log=True),
        "iterations": t.suggest_int("iterations", 5, 30),
    },
    "bpr": lambda t: {
        "factors": t.suggest_categorical("factors", [16, 32, 64, 128]),
        "learning_rate": t.suggest_float("learning_rate", 1e-3, 0.1, log=True),
        "regularization": t.suggest_float("regularization", 1e-4, 0.1, log=True),
    },
    "cooccurrence": lambda t: {
        "mode": t.suggest_categorical("mode", ["together", "then"]),
        "min_support": t.suggest_int("min_support", 1, 5),
    },
    "popular": lambda t: {"by": t.suggest_categorical("by", ["people", "weight"])},
}


class Auto(Recommender):
    """The best of several recommenders for this data, tuned with Optuna.

    Each candidate gets ``n_trials`` trials (the first one its default hyperparameters, where
    they lie in its search space) of a seeded TPE search over its main hyperparameters
    (:data:`SEARCH_SPACES`; a model without one is tried once with its defaults), scored by
    NDCG@``k`` on a validation split carved from the training interactions: each person's
    latest items when the interactions have timestamps (``validation="auto"``), or a random
    share (``"random"``), ``validation_fraction`` of them or ``validation_items`` each. Then
    the ``blend_top`` best candidates, tuned, are blended (a :class:`Hybrid` with weights
    learned on the same split); the blend is chosen only if it beats the best single model
    there. The winner is refit on all the interactions. ``timeout_seconds`` caps the search
    (split evenly between the candidates); with it, results may depend on the machine.

    After ``fit``: ``chosen_`` (its name), ``best_params_``, ``model_`` (the fitted model),
    ``trials_`` (one ``{"model", "params", "ndcg"}`` per trial; settings the data cannot take,
    such as cooccurrence's ``mode="then"`` without purchases, have ``ndcg`` None and an
    ``error``, and are skipped).

    Examples
    --------
    >>> from tailored.recommend import Interactions
    >>> from tailored.recommend.auto import Auto
    >>> data = Interactions.from_arrays(["a", "a", "a", "b", "b", "b", "c", "c"],
    ...                                 ["x", "y", "z", "x", "y", "z", "x", "y"])
    >>> model = Auto(candidates=("ease", "popular"), n_trials=2).fit(data)
    >>> model.chosen_ in ("ease", "popular")
    True
    """

    name = "auto"

    def __init__(self, *, candidates: Sequence[str] = ("item-knn", "user-knn", "ease", "als",
                                                       "bpr", "cooccurrence"),
                 n_trials: int = 10, k: int = 10, blend_top: int = 3,
                 validation: str = "auto", validation_fraction: float = 0.2,
                 validation_items: int | None = None, timeout_seconds: float | None = None,
                 random_state: int | None = 0) -> None:
        self.candidates = tuple(candidates)
        self.n_trials = n_trials
        self.k = k
        self.blend_top = blend_top
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.validation_items = validation_items
        self.timeout_seconds = timeout_seconds
        self.random_state = random_state

    def _check(self) -> None:
        from tailored.recommend.registry import MODELS

        if not self.candidates:
            raise InvalidInput("auto needs at least one candidate", field="candidates")
        unknown = [m for m in self.candidates if m not in MODELS or m in (self.name, "hybrid")]
        if unknown:
            raise InvalidInput(f"unknown candidate(s) {unknown}; known: "
                               f"{', '.join(sorted(set(MODELS) - {self.name, 'hybrid'}))}",
                               field="candidates")
        if not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise InvalidInput(f"n_trials must be at least 1, got {self.n_trials!r}",
                               field="n_trials")
        if not isinstance(self.blend_top, int) or self.blend_top < 0:
            raise InvalidInput(f"blend_top must be a whole number ≥ 0, got "
                               f"{self.blend_top!r}", field="blend_top")
        check_validation(self.validation)

    def _fit(self, data: Interactions) -> None:
        from tailored.recommend.registry import MODELS

        self._check()
        require("optuna", "auto")  # before any work, so a missing extra fails at once
        self.trials_: list[dict[str, Any]] = []
        carved = carve_validation(data, self.validation_fraction, self.random_state,
                                  latest=latest_first(self.validation, data),
                                  per_person=self.validation_items)
        best: tuple[float, str, dict[str, Any]] = (-1.0, self.candidates[0], {})
        if carved is not None:
            train, held = carved
            users = np.flatnonzero(np.diff(held.indptr) > 0)
            budget = (None if self.timeout_seconds is None
                      else self.timeout_seconds / len(self.candidates))
            tuned: list[tuple[float, str, dict[str, Any], np.ndarray]] = []
            for n, name in enumerate(self.candidates):
                score, params, rows = self._tune(name, n, train, held, users, budget)
                if rows is not None:
                    tuned.append((score, name, params, rows))
                if score > best[0] + 1e-12:
                    best = (score, name, params)
            best = self._blend(best, tuned, train, held, users)
        self.validation_ndcg_ = best[0] if carved is not None else None
        self.chosen_, self.best_params_ = best[1], best[2]
        self.model_ = (MODELS[self.chosen_](**self.best_params_).with_side(self.side)
                       .fit(data, self.catalog_))
        self._share()

    def _blend(self, best: tuple[float, str, dict[str, Any]],
               tuned: list[tuple[float, str, dict[str, Any], np.ndarray]],
               train: Interactions, held: sp.csr_matrix, users: np.ndarray,
               ) -> tuple[float, str, dict[str, Any]]:
        """A hybrid of the ``blend_top`` best tuned candidates, if it beats ``best``."""
        top = sorted(tuned, key=lambda t: -t[0])[:self.blend_top]
        if len(top) < 2:
            return best
        weights, ndcg = best_blend([minmax_rows(t[3]) for t in top], train, held, users, self.k)
        params = {"models": [t[1] for t in top], "params": {t[1]: t[2] for t in top},
                  "weights": [round(float(w), 6) for w in weights],
                  "validation": self.validation}
        self.trials_.append({"model": "hybrid", "params": params, "ndcg": round(ndcg, 6)})
        if ndcg > best[0] + 1e-12 and np.count_nonzero(weights) > 1:
            return ndcg, "hybrid", params
        return best

    def _tune(self, name: str, n: int, train: Interactions, held: sp.csr_matrix,
              users: np.ndarray, budget: float | None,
              ) -> tuple[float, dict[str, Any], np.ndarray | None]:
        """The best validation NDCG of ``name``, the hyperparameters that gave it and its
        validation scores (for blending)."""
        from tailored.recommend.registry import MODELS

        optuna = require("optuna", "auto")
        model_cls = MODELS[name]
        fits: dict[str, Recommender] = {}  # by the parameters a fit depends on
        best_rows: dict[str, Any] = {"ndcg": -1.0, "rows": None}

        def score(params: dict[str, Any]) -> float:
            fit_params = {k: v for k, v in params.items()
                          if k not in model_cls.scoring_params}
            key = json.dumps(fit_params, sort_keys=True, default=str)
            try:
                if key not in fits:
                    fits.clear()  # keep one fitted model in memory at a time
                    fits[key] = (model_cls(**fit_params).with_side(self.side)
                                 .fit(train, self.catalog_))
                model = fits[key]
                for p in model_cls.scoring_params:
                    setattr(model, p, params.get(p, model_cls().get_params()[p]))
            except (ValueError, InvalidInput) as error:
                # Settings this data cannot take (e.g. "then" without purchases): skipped.
                self.trials_.append({"model": name, "params": params, "ndcg": None,
                                     "error": str(error)})
                raise optuna.TrialPruned(str(error)) from error
            rows = np.vstack([model._scores(train.matrix[u], str(train.user_ids[u]))
                              for u in users])
            ndcg = validation_ndcg(rows, train, held, users, self.k)
            self.trials_.append({"model": name, "params": params, "ndcg": round(ndcg, 6)})
            if ndcg > best_rows["ndcg"] + 1e-12:
                best_rows.update(ndcg=ndcg, rows=rows)
            return ndcg

        space = SEARCH_SPACES.get(name)
        if space is None:
            try:
                return score({}), {}, best_rows["rows"]
            except optuna.TrialPruned:
                return -1.0, {}, None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        logging.getLogger("optuna").setLevel(logging.WARNING)
        seed = None if self.random_state is None else self.random_state + n
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        # A setting the model chooses itself ("auto" recency) is searched here instead: its
        # first trial is the plain default, None.
        defaults = {p: (None if v == "auto" else v) for p, v in MODELS[name]().get_params().items()}
        probe = optuna.trial.FixedTrial(defaults)
        try:
            in_space = space(probe).keys() <= defaults.keys()
        except ValueError:
            in_space = False
        if in_space:
            study.enqueue_trial({p: defaults[p] for p in space(probe)})
        study.optimize(lambda t: score(space(t)), n_trials=self.n_trials, timeout=budget)
        done = [t for t in study.trials
                if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
        if not done:
            return -1.0, {}, None
        top = max(done, key=lambda t: (t.value, -t.number))
        return float(top.value or 0.0), dict(top.params), best_rows["rows"]

    def _share(self) -> None:
        m = self.model_
        m.interactions_, m.catalog_, m.popularity_ = (self.interactions_, self.catalog_,
                                                      self.popularity_)
        m._fresh, m._fresh_signals = self._fresh, self._fresh_signals
        m._fresh_times = self._fresh_times

    # -- behaving as the chosen model -----------------------------------------------

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        return self.model_._scores(row, user)

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        return self.model_._reason(row, item, user)

    def choice(self) -> dict[str, Any] | None:
        """The model chosen, its parameters (a blend: its models and weights), the
        validation NDCG it won with, and every trial with its score."""
        chosen = {"model": self.chosen_, "params": self.best_params_,
                  "validation_ndcg": self.validation_ndcg_, "trials": self.trials_}
        inner = self.model_.choice()
        if inner is not None:
            chosen["blend"] = inner
        return chosen

    def _similar_scores(self, index: int) -> np.ndarray:
        return self.model_._similar_scores(index)

    def _state(self) -> dict[str, np.ndarray]:
        summary = {"chosen": self.chosen_, "params": self.best_params_, "trials": self.trials_,
                   "validation_ndcg": self.validation_ndcg_}
        return {"summary": np.array(json.dumps(summary)),
                **{f"model__{k}": v for k, v in self.model_._state().items()}}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        from tailored.recommend.registry import MODELS

        summary = json.loads(str(state["summary"]))
        self.chosen_, self.best_params_ = summary["chosen"], summary["params"]
        self.trials_, self.validation_ndcg_ = summary["trials"], summary["validation_ndcg"]
        self.model_ = MODELS[self.chosen_](**self.best_params_)
        self.model_.metadata_ = {}
        self._share()
        self.model_._restore({k[7:]: v for k, v in state.items() if k.startswith("model__")})

    def _forget_rows(self, keep: np.ndarray) -> None:
        self._share()
        self.model_._forget_rows(keep)
