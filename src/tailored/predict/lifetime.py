"""The lifetime-value job: summarise, fit, check on the holdout, score every customer."""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from tailored.errors import InvalidInput
from tailored.extras import require
from tailored.predict.clv import LifetimeValue
from tailored.predict.holdout import cumulative_curve, holdout_errors
from tailored.predict.purchases import check_period, purchase_range, rfm_summary

if TYPE_CHECKING:
    from tailored.analytics.source import Source

__all__ = ["run_lifetime_value"]

_DAYS_PER_MONTH = 30.4375


def _summary_stats(values: np.ndarray) -> dict[str, float]:
    return {"mean": round(float(values.mean()), 2), "median": round(float(np.median(values)), 2),
            "p90": round(float(np.quantile(values, 0.9)), 2),
            "total": round(float(values.sum()), 2)}


def run_lifetime_value(
    source: Source, *, calibration_end: date, holdout_end: date | None = None,
    time_unit: str = "weeks", model: str = "bg-nbd", months: int = 12,
    discount_rate: float = 0.01, fit_method: str = "map",
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Fit on purchases up to ``calibration_end``, check on those up to ``holdout_end``, and
    score every customer on their whole history.

    Returns the report and the traits per profile: ``clv`` (discounted value of the next
    ``months`` months), ``expected_purchases`` (purchase days in those months) and
    ``p_alive``.
    """
    require("pymc_marketing", "clv")  # before reading anything: a missing extra fails at once
    started = time.perf_counter()
    span = purchase_range(source)
    check_period(calibration_end, holdout_end, span)
    if months < 1:
        raise InvalidInput(f"months must be at least 1, got {months}", field="months")
    summary = rfm_summary(source, calibration_end=calibration_end, holdout_end=holdout_end,
                          time_unit=time_unit)
    fitted = LifetimeValue(model=model, fit_method=fit_method).fit(summary)
    report: dict[str, Any] = {
        "model": model,
        "params": {k: round(v, 4) for k, v in (fitted.params_ | fitted.spend_params_).items()},
        "time_unit": time_unit,
        "fit_method": fit_method,
        "customers": fitted.n_customers_,
        "repeat_customers": fitted.n_repeat_customers_,
        "calibration": {"start": str(span.first), "end": str(calibration_end)},
        "data": {"first_purchase": str(span.first), "last_purchase": str(span.last),
                 "customers": span.customers},
    }
    if holdout_end is not None:
        report["holdout"] = {
            "end": str(holdout_end),
            **holdout_errors(fitted, summary, calibration_end=calibration_end,
                             holdout_end=holdout_end, time_unit=time_unit),
            "curve": cumulative_curve(source, fitted, summary, calibration_end=calibration_end,
                                      holdout_end=holdout_end, time_unit=time_unit),
        }
    # Scores use the calibrated parameters on each customer's whole history to date.
    current = rfm_summary(source, calibration_end=span.last, time_unit=time_unit)
    horizon = months * _DAYS_PER_MONTH / (7.0 if time_unit == "weeks" else 1.0)
    purchases = fitted.expected_purchases(current, horizon)
    alive = fitted.probability_alive(current)
    value = fitted.lifetime_value(current, months=months, discount_rate=discount_rate,
                                  time_unit=time_unit)
    report["clv"] = {"months": months, "discount_rate": discount_rate,
                     "as_of": str(span.last), **_summary_stats(value)}
    report["expected_purchases"] = _summary_stats(purchases)
    traits = {
        str(pid): {"clv": round(float(v), 2), "expected_purchases": round(float(n), 3),
                   "p_alive": round(float(a), 4)}
        for pid, v, n, a in zip(current["customer_id"], value, purchases, alive, strict=True)
    }
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report, traits
