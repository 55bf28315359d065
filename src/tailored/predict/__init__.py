"""Predictions: customer lifetime value, purchase propensity and churn."""

from tailored.predict.clv import MIN_CUSTOMERS, MIN_REPEAT_CUSTOMERS, MODELS, LifetimeValue
from tailored.predict.holdout import cumulative_curve, holdout_errors
from tailored.predict.lifetime import run_lifetime_value
from tailored.predict.purchases import (
    TIME_UNITS,
    PurchaseRange,
    purchase_days,
    purchase_range,
    rfm_summary,
)

__all__ = [
    "MIN_CUSTOMERS",
    "MIN_REPEAT_CUSTOMERS",
    "MODELS",
    "TIME_UNITS",
    "LifetimeValue",
    "PurchaseRange",
    "cumulative_curve",
    "holdout_errors",
    "purchase_days",
    "purchase_range",
    "rfm_summary",
    "run_lifetime_value",
]
