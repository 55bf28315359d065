"""Classifier segments: a decision tree (entropy, as ID3) and a logistic regression that learn
a target segment from customer features, and say what they learned in plain words.

Both are scikit-learn classifiers with optional feature selection in front — chi² SelectKBest
(features must be non-negative, as counts and money are) or mutual information — so the
selection is refitted with the model and never sees the test rows. :meth:`explain` gives the
tree's rules ("orders > 2.5 and recency_days ≤ 30 → in the segment: 84% of 120 customers")
or the logistic regression's coefficients ("one standard deviation more orders (2.1)
multiplies the odds by 2.4").
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_selection import SelectKBest, chi2, mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from tailored.errors import InvalidInput
from tailored.segments.feature_text import feature_label, range_text

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["SELECTORS", "SegmentLogistic", "SegmentTree"]

SELECTORS = ("chi2", "mutual_info")
_MIN_SAMPLES = 2


class _SegmentClassifier(ClassifierMixin, BaseEstimator):
    """Validation, feature selection and prediction shared by both models."""

    select: str | None
    k_features: int
    random_state: Any

    def _model(self) -> Any:
        raise NotImplementedError

    def fit(self, X: ArrayLike, y: ArrayLike) -> _SegmentClassifier:
        """Select features (if asked) and fit the model; returns ``self``."""
        data, labels = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(labels)
        if data.shape[0] < _MIN_SAMPLES:
            raise InvalidInput(f"too few customers to learn from: {data.shape[0]} sample(s), at "
                               f"least {_MIN_SAMPLES} needed", field="customers")
        self.classes_ = np.unique(labels)
        names = getattr(self, "feature_names_in_", None)
        all_names = [str(n) for n in names] if names is not None else [
            f"x{i}" for i in range(data.shape[1])]
        if self.select is not None:
            if self.select not in SELECTORS:
                raise InvalidInput(f"select must be one of {', '.join(SELECTORS)}, got "
                                   f"{self.select!r}", field="select")
            if int(self.k_features) < 1:
                raise InvalidInput(f"the number of features to keep must be 1 or more, got "
                                   f"{self.k_features}", field="features")
            if self.select == "chi2" and (data < 0).any():
                raise InvalidInput("chi² selection needs non-negative features; use "
                                   "mutual_info for features that can be negative",
                                   field="select")
            score = chi2 if self.select == "chi2" else partial(
                mutual_info_classif, random_state=self.random_state)
            self.selector_: SelectKBest | None = SelectKBest(
                score, k=min(int(self.k_features), data.shape[1])).fit(data, labels)
            support = self.selector_.get_support()
            self.feature_scores_ = {n: float(s) for n, s in zip(
                all_names, np.nan_to_num(self.selector_.scores_), strict=True)}
            data = data[:, support]
        else:
            self.selector_ = None
            support = np.ones(data.shape[1], dtype=bool)
        self.selected_features_ = [n for n, keep in zip(all_names, support, strict=True)
                                   if keep]
        self.model_ = self._fit_model(data, labels)
        return self

    def _fit_model(self, X: NDArray[np.float64], y: NDArray[Any]) -> Any:
        return self._model().fit(X, y)

    def _inner(self, X: ArrayLike) -> NDArray[np.float64]:
        check_is_fitted(self)
        data: NDArray[np.float64] = validate_data(self, X, dtype=np.float64, reset=False)
        return self.selector_.transform(data) if self.selector_ is not None else data

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        inner = self._inner(X)
        return self.model_.predict(inner)

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        inner = self._inner(X)
        return self.model_.predict_proba(inner)


class SegmentTree(_SegmentClassifier):
    """A decision tree on the entropy criterion (information gain, as ID3), kept shallow so
    its rules read as sentences.

    Parameters
    ----------
    max_depth : int, default=4
    min_samples_leaf : int, default=5
    min_weight_fraction_leaf : float, default=0.0
    class_weight : "balanced", dict or None, default="balanced"
        Small segments are rare classes: balanced weights keep them from being ignored.
    select : {"chi2", "mutual_info"} or None, default=None
        Keep the ``k_features`` best features by this score before fitting.
    k_features : int, default=5
    random_state : int, RandomState or None, default=0

    Attributes
    ----------
    classes_, model_ (the fitted DecisionTreeClassifier), selected_features_, selector_

    Examples
    --------
    >>> X = [[0, 1], [1, 1], [5, 0], [6, 0]]
    >>> tree = SegmentTree(min_samples_leaf=1).fit(X, [0, 0, 1, 1])
    >>> tree.predict([[5.5, 0]]).tolist()
    [1]
    """

    def __init__(self, *, max_depth: int = 4, min_samples_leaf: int = 5,
                 min_weight_fraction_leaf: float = 0.0,
                 class_weight: str | dict[Any, float] | None = "balanced",
                 select: str | None = None, k_features: int = 5,
                 random_state: Any = 0) -> None:
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.class_weight = class_weight
        self.select = select
        self.k_features = k_features
        self.random_state = random_state

    def _model(self) -> DecisionTreeClassifier:
        return DecisionTreeClassifier(criterion="entropy", max_depth=self.max_depth,
                                      min_samples_leaf=self.min_samples_leaf,
                                      min_weight_fraction_leaf=self.min_weight_fraction_leaf,
                                      class_weight=self.class_weight,
                                      random_state=self.random_state)

    def _fit_model(self, X: NDArray[np.float64], y: NDArray[Any]) -> Any:
        model = self._model().fit(X, y)
        # Customers of each class per leaf, unweighted, so rules report real shares.
        counts = np.zeros((model.tree_.node_count, len(self.classes_)))
        np.add.at(counts, (model.apply(X), np.searchsorted(self.classes_, y)), 1.0)
        self.leaf_counts_ = counts
        return model

    def explain(self, *, positive: Any = None, limit: int = 8) -> list[dict[str, Any]]:
        """The leaves that predict ``positive`` (default: the last class), as rules in words,
        most customers first."""
        check_is_fitted(self)
        target = self.classes_[-1] if positive is None else positive
        tree = self.model_.tree_
        names = self.selected_features_
        rules: list[dict[str, Any]] = []

        def walk(node: int, bounds: dict[str, tuple[float, float]]) -> None:
            if tree.children_left[node] == tree.children_right[node]:  # a leaf
                cls = int(np.argmax(tree.value[node][0]))  # the (weighted) vote
                if self.classes_[cls] == target:
                    counts = self.leaf_counts_[node]  # real customers, unweighted
                    share = counts / max(counts.sum(), 1.0)
                    size = int(counts.sum())
                    conditions = [range_text(n, lo, hi) for n, (lo, hi) in bounds.items()]
                    when = " and ".join(conditions) or "everyone"
                    rules.append({"conditions": conditions, "bounds": [
                                      {"feature": n, "above": _finite(lo), "at_most": _finite(hi)}
                                      for n, (lo, hi) in bounds.items()],
                                  "customers": size,
                                  "precision": round(float(share[cls]), 4),
                                  "text": f"{when} → in the segment: {share[cls]:.0%} of "
                                          f"{size} customers"})
                return
            name, cut = names[tree.feature[node]], float(tree.threshold[node])
            lo, hi = bounds.get(name, (-np.inf, np.inf))
            walk(tree.children_left[node], {**bounds, name: (lo, min(hi, cut))})
            walk(tree.children_right[node], {**bounds, name: (max(lo, cut), hi)})

        walk(0, {})
        rules.sort(key=lambda r: (-r["customers"], -r["precision"]))
        return rules[:limit]


def _finite(bound: float) -> float | None:
    """A tree path's bound for JSON: ``None`` for an open end."""
    return round(float(bound), 6) if np.isfinite(bound) else None


class SegmentLogistic(_SegmentClassifier):
    """A logistic regression on standardised features, so coefficients compare and read as
    "one standard deviation more multiplies the odds by e^coef".

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength.
    class_weight : "balanced" or None, default="balanced"
        Small segments are rare classes: balanced weights keep them from being ignored.
    select : {"chi2", "mutual_info"} or None, default=None
    k_features : int, default=5
    max_iter : int, default=1000
    random_state : int, RandomState or None, default=0

    Examples
    --------
    >>> X = [[0, 1], [1, 1], [5, 0], [6, 0]]
    >>> SegmentLogistic().fit(X, [0, 0, 1, 1]).predict([[5.5, 0]]).tolist()
    [1]
    """

    def __init__(self, *, C: float = 1.0, class_weight: str | dict[Any, float] | None = "balanced",
                 select: str | None = None, k_features: int = 5, max_iter: int = 1000,
                 random_state: Any = 0) -> None:
        self.C = C
        self.class_weight = class_weight
        self.select = select
        self.k_features = k_features
        self.max_iter = max_iter
        self.random_state = random_state

    def _model(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight=self.class_weight,
                                  max_iter=self.max_iter, random_state=self.random_state)

    def _fit_model(self, X: NDArray[np.float64], y: NDArray[Any]) -> Any:
        self.scaler_ = StandardScaler().fit(X)
        model = self._model().fit(self.scaler_.transform(X), y)
        self.n_iter_ = model.n_iter_
        return model

    def _inner(self, X: ArrayLike) -> NDArray[np.float64]:
        selected = super()._inner(X)  # checks it is fitted first
        return self.scaler_.transform(selected)

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        inner = self._inner(X)
        return self.model_.decision_function(inner)

    def explain(self, *, limit: int = 8) -> list[dict[str, Any]]:
        """Each feature's effect on the odds of the last class, strongest first."""
        check_is_fitted(self)
        coef = self.model_.coef_[-1]
        out: list[dict[str, Any]] = []
        for name, c, sd in zip(self.selected_features_, coef, self.scaler_.scale_,
                               strict=True):
            factor = float(np.exp(c))
            way = "multiplies" if factor >= 1 else "divides"
            times = factor if factor >= 1 else 1 / factor
            out.append({"feature": name, "coefficient": round(float(c), 4),
                        "odds_ratio": round(factor, 4), "std": round(float(sd), 4),
                        "text": f"one standard deviation more {feature_label(name)} "
                                f"({sd:,.3g}) {way} the odds of being in the segment by "
                                f"{times:.2f}"})
        out.sort(key=lambda r: -abs(r["coefficient"]))
        return out[:limit]
