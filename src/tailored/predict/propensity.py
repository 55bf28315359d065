"""Purchase propensity and churn: three scikit-learn classifiers beside a recency baseline,
trained and tested on consecutive windows of time.

With cut-off ``c`` and horizon ``h``: the models learn from features as of ``c - h`` with
labels from ``[c - h, c)``, and are tested on features as of ``c`` with labels from
``[c, c + h)`` — a temporal holdout, nothing of the test period seen in training. The scores
written to profiles come from the best model by test ROC AUC, refitted on the latest complete
window (features as of ``c``) and applied to everyone's features as of the latest event.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from tailored.errors import InvalidInput
from tailored.predict.labels import (
    FEATURES,
    TARGETS,
    check_cutoff,
    event_range,
    labelled,
    scoring_frame,
)
from tailored.predict.metrics import score_metrics

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from tailored.analytics.source import Source

__all__ = ["BASELINE", "MIN_PEOPLE", "MIN_POSITIVES", "TRAIT_NAMES", "make_models",
           "run_propensity"]

#: The naive baseline: a logistic regression on recency alone.
BASELINE = "recency_baseline"
TRAIT_NAMES = {"purchase": "purchase_propensity", "churn": "churn_risk"}
#: Below these a model's test figures mean little.
MIN_PEOPLE = 50
MIN_POSITIVES = 10


def _log1p(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(x, 0.0, None))


def make_models(random_state: int = 0) -> dict[str, Pipeline]:
    """The recency baseline and the three classifiers, as unfitted pipelines."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    def scaled(columns: list[str]) -> ColumnTransformer:
        # Counts and money are heavy-tailed: their logarithm is what a linear model can use.
        return ColumnTransformer([("log", make_pipeline(
            FunctionTransformer(_log1p), StandardScaler()), columns)])

    features = list(FEATURES)
    return {
        BASELINE: make_pipeline(scaled(["recency_days"]), LogisticRegression()),
        "logistic_regression": make_pipeline(scaled(features),
                                             LogisticRegression(C=1.0, max_iter=1000)),
        "random_forest": make_pipeline(
            ColumnTransformer([("all", "passthrough", features)]),
            RandomForestClassifier(n_estimators=200, min_samples_leaf=10, n_jobs=1,
                                   random_state=random_state)),
        "gradient_boosting": make_pipeline(
            ColumnTransformer([("all", "passthrough", features)]),
            # The exact (single-threaded) booster: the histogram one's OpenMP threads fight
            # over a busy machine's cores for no gain at a few thousand customers.
            GradientBoostingClassifier(n_estimators=150, learning_rate=0.05, max_depth=3,
                                       min_samples_leaf=20, subsample=0.8,
                                       random_state=random_state)),
    }


def _check_population(frame: pd.DataFrame, what: str, target: str) -> None:
    positives = int(frame["label"].sum())
    negatives = len(frame) - positives
    if len(frame) < MIN_PEOPLE or min(positives, negatives) < MIN_POSITIVES:
        people = "customers with an order" if target == "churn" else "active people"
        raise InvalidInput(
            f"too few buyers to fit a {target} model on the {what} window: {len(frame)} "
            f"{people}, {positives} labelled 1 and {negatives} labelled 0; at least "
            f"{MIN_PEOPLE} people and {MIN_POSITIVES} of each label are needed",
            field="cutoff")


def _window(frame: pd.DataFrame, as_of: datetime) -> dict[str, Any]:
    return {"as_of": as_of.isoformat(), "people": len(frame),
            "positives": int(frame["label"].sum()),
            "positive_rate": round(float(frame["label"].mean()), 4)}


def run_propensity(source: Source, *, cutoff: datetime, horizon_days: int,
                   target: str = "purchase", random_state: int = 0,
                   include_anonymous: bool = False
                   ) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Train, test beside the baseline, and score every customer (everyone with
    ``include_anonymous``); returns the report and the traits per profile
    (``purchase_propensity`` or ``churn_risk``)."""
    started = time.perf_counter()
    if target not in TARGETS:
        raise InvalidInput(f"target must be purchase or churn, got {target!r}", field="target")
    span = event_range(source)
    check_cutoff(cutoff, horizon_days, span)
    train_at = cutoff - timedelta(days=horizon_days)
    train = labelled(source, cutoff=train_at, horizon_days=horizon_days, target=target,
                     include_anonymous=include_anonymous)
    test = labelled(source, cutoff=cutoff, horizon_days=horizon_days, target=target,
                    include_anonymous=include_anonymous)
    _check_population(train, "training", target)
    _check_population(test, "test", target)
    results: dict[str, dict[str, Any]] = {}
    models = make_models(random_state)
    y_test = test["label"].to_numpy()
    for name, model in models.items():
        model.fit(train[list(FEATURES)], train["label"].to_numpy())
        scores = model.predict_proba(test[list(FEATURES)])[:, 1]
        results[name] = score_metrics(y_test, scores)
    candidates = {n: r for n, r in results.items() if n != BASELINE}
    best = max(candidates, key=lambda n: candidates[n]["roc_auc"] or 0.0)
    final = make_models(random_state)[best].fit(test[list(FEATURES)], y_test)
    people, customers = scoring_frame(source, target=target,
                                      include_anonymous=include_anonymous)
    scores = final.predict_proba(people[list(FEATURES)])[:, 1]
    trait = TRAIT_NAMES[target]
    traits = {str(pid): {trait: round(float(s), 4)}
              for pid, s in zip(people["profile_id"], scores, strict=True)}
    report: dict[str, Any] = {
        "target": target,
        "cutoff": cutoff.date().isoformat(),
        "horizon_days": horizon_days,
        "data": {"first_event": span.first.isoformat(), "last_event": span.last.isoformat()},
        "train": _window(train, train_at),
        "test": _window(test, cutoff),
        "baseline": {"name": BASELINE, **results[BASELINE]},
        "models": candidates,
        "best": best,
        "trait": trait,
        "scored": len(traits),
        **customers.report(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return report, traits
