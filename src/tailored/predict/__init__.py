"""Predictions: customer lifetime value, purchase propensity and churn."""

from tailored.predict.clv import MIN_CUSTOMERS, MIN_REPEAT_CUSTOMERS, MODELS, LifetimeValue
from tailored.predict.holdout import cumulative_curve, holdout_errors
from tailored.predict.labels import FEATURES, TARGETS, event_range, labelled, scoring_frame
from tailored.predict.lifetime import AUTO_MODELS, TOP_CUSTOMERS, run_lifetime_value
from tailored.predict.metrics import lift_at, reliability, score_metrics
from tailored.predict.propensity import (
    BASELINE,
    MIN_PEOPLE,
    MIN_POSITIVES,
    TRAIT_NAMES,
    make_models,
    run_propensity,
)
from tailored.predict.purchases import (
    TIME_UNITS,
    PurchaseRange,
    excluded_buyers,
    purchase_days,
    purchase_range,
    rfm_summary,
)

__all__ = [
    "AUTO_MODELS",
    "BASELINE",
    "FEATURES",
    "MIN_CUSTOMERS",
    "MIN_PEOPLE",
    "MIN_POSITIVES",
    "MIN_REPEAT_CUSTOMERS",
    "MODELS",
    "TARGETS",
    "TIME_UNITS",
    "TOP_CUSTOMERS",
    "TRAIT_NAMES",
    "LifetimeValue",
    "PurchaseRange",
    "cumulative_curve",
    "event_range",
    "excluded_buyers",
    "holdout_errors",
    "labelled",
    "lift_at",
    "make_models",
    "purchase_days",
    "purchase_range",
    "reliability",
    "rfm_summary",
    "run_lifetime_value",
    "run_propensity",
    "score_metrics",
    "scoring_frame",
]
