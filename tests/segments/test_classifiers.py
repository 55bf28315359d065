"""Classifier segments: scikit-learn's estimator checks, rules and coefficients in words, and
chi² / mutual-information selection that keeps the informative features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tailored.errors import InvalidInput
from tailored.segments.classifiers import SegmentLogistic, SegmentTree


@parametrize_with_checks([SegmentTree(), SegmentLogistic(),
                          SegmentTree(select="mutual_info", k_features=2)])
def test_sklearn_compatible(estimator: SegmentTree, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def _customers(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "orders": rng.integers(0, 8, n).astype(float),
        "recency_days": rng.uniform(0, 120, n),
        "views": rng.poisson(20, n).astype(float),  # noise
        "carts": rng.poisson(3, n).astype(float),   # noise
    })
    y = ((X.orders >= 3) & (X.recency_days < 60)).astype(int).to_numpy()
    return X, y


def test_tree_rules_read_as_the_rule_that_made_the_segment() -> None:
    X, y = _customers()
    tree = SegmentTree(max_depth=3).fit(X, y)
    assert tree.score(X, y) > 0.97
    rules = tree.explain()
    assert rules, "a tree that found the segment has a rule for it"
    best = rules[0]
    # In words, with the bounds for machines beside them.
    assert "at least 3 orders" in best["conditions"]
    assert any(c.startswith("last seen at most ") and c.endswith(" days ago")
               for c in best["conditions"])
    assert not any("_" in c or "≤" in c for c in best["conditions"])
    bounds = {b["feature"]: b for b in best["bounds"]}
    assert 2 <= bounds["orders"]["above"] < 3 and bounds["orders"]["at_most"] is None
    assert 50 < bounds["recency_days"]["at_most"] < 70
    assert best["precision"] > 0.9
    assert best["text"].endswith(f"{best['customers']} customers")
    assert tree.model_.criterion == "entropy"


def test_logistic_coefficients_point_the_right_way() -> None:
    X, y = _customers()
    model = SegmentLogistic().fit(X, y)
    effects = {e["feature"]: e for e in model.explain()}
    assert effects["orders"]["coefficient"] > 0
    assert effects["recency_days"]["coefficient"] < 0
    assert "multiplies the odds" in effects["orders"]["text"]
    assert "more days since last seen (" in effects["recency_days"]["text"]
    assert "divides the odds" in effects["recency_days"]["text"]
    strongest = [e["feature"] for e in model.explain()][:2]
    assert set(strongest) == {"orders", "recency_days"}


@pytest.mark.parametrize("select", ["chi2", "mutual_info"])
def test_selection_keeps_the_informative_features(select: str) -> None:
    X, y = _customers(seed=1)
    model = SegmentTree(select=select, k_features=2).fit(X, y)
    assert set(model.selected_features_) == {"orders", "recency_days"}
    assert set(model.feature_scores_) == set(X.columns)
    assert model.predict(X).shape == (len(X),)


def test_chi2_refuses_negative_features() -> None:
    X, y = _customers()
    X["balance"] = -1.0
    with pytest.raises(InvalidInput, match="non-negative") as err:
        SegmentLogistic(select="chi2").fit(X, y)
    assert err.value.field == "select"


@pytest.mark.parametrize(("params", "field"), [({"select": "anova"}, "select"),
                                               ({"select": "chi2", "k_features": 0},
                                                "features")])
def test_bad_selection_settings_are_refused(params: dict[str, object], field: str) -> None:
    X, y = _customers()
    with pytest.raises(InvalidInput) as err:
        SegmentTree(**params).fit(X, y)  # type: ignore[arg-type]
    assert err.value.field == field
