"""Checking a lifetime-value model on the period after its calibration.

Two views, as in Fader, Hardie and Lee (2005): each customer's purchase days in the holdout
period beside the model's conditional expectation (mean absolute error), and the aggregate
cumulative repeat-purchase curve week by week, across calibration and holdout, beside the
model's expectation for a cohort of customers who first bought on the days these did.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tailored.predict.purchases import TIME_UNITS, purchase_days

if TYPE_CHECKING:
    from tailored.analytics.source import Source
    from tailored.predict.clv import LifetimeValue

__all__ = ["cumulative_curve", "holdout_errors"]

_EPOCH = date(1970, 1, 1)


def holdout_errors(model: LifetimeValue, summary: pd.DataFrame, *, calibration_end: date,
                   holdout_end: date, time_unit: str) -> dict[str, Any]:
    """Per-customer purchase days in the holdout period, actual against expected."""
    length = (holdout_end - calibration_end).days / TIME_UNITS[time_unit]
    expected = model.expected_purchases(summary, length)
    actual = summary["holdout_frequency"].to_numpy(dtype=float)
    error = expected - actual
    return {
        "customers": len(summary),
        "periods": round(length, 3),
        "actual_purchases": int(actual.sum()),
        "predicted_purchases": round(float(expected.sum()), 2),
        "mae_purchases": round(float(np.abs(error).mean()), 4),
        "rmse_purchases": round(float(np.sqrt((error ** 2).mean())), 4),
        "bias_purchases": round(float(error.mean()), 4),
    }


def cumulative_curve(source: Source, model: LifetimeValue, summary: pd.DataFrame, *,
                     calibration_end: date, holdout_end: date, time_unit: str,
                     include_anonymous: bool = False) -> list[dict[str, Any]]:
    """Cumulative repeat purchase days of the summary's customers, week by week from the
    first purchase, actual and expected (``holdout`` marks the weeks after calibration)."""
    start = (min(summary["first_day"]) - _EPOCH).days
    end = (holdout_end - _EPOCH).days
    cal_end = (calibration_end - _EPOCH).days
    weeks = (end - start) // 7 + 1
    days = purchase_days(source, include_anonymous=include_anonymous)
    firsts = days.group_by("profile_id").aggregate(first_n=days.day.min())
    firsts = firsts.filter(firsts.first_n <= cal_end)
    joined = days.join(firsts, "profile_id")
    repeats = joined.filter((joined.day > joined.first_n) & (joined.day <= end))
    week = ((repeats.day - start) // 7).cast("int64")
    weekly = repeats.mutate(week=week)
    counts = weekly.group_by("week").aggregate(n=weekly.count()).execute()
    per_week = np.zeros(weeks)
    per_week[counts["week"].to_numpy(dtype=int)] = counts["n"].to_numpy(dtype=float)
    actual = np.cumsum(per_week)
    scale = TIME_UNITS[time_unit]
    first = np.array([(d - _EPOCH).days for d in summary["first_day"]], dtype=float)
    # The end of each week, in the model's time unit from each customer's first purchase:
    # one row per customer and week, so the model is asked once.
    edges = np.minimum(start + 7 * (np.arange(weeks) + 1), end + 1)
    horizon = np.clip(edges[:, None] - first[None, :], 0.0, None).ravel() / scale
    rows = pd.DataFrame({"customer_id": np.arange(len(horizon)), "frequency": 0,
                         "recency": 0.0, "T": 0.0})
    expected = model.expected_purchases_new(rows, horizon).reshape(weeks, len(first)).sum(1)
    return [{"week": k + 1, "holdout": bool(start + 7 * k > cal_end),
             "actual": int(actual[k]), "predicted": round(float(expected[k]), 1)}
            for k in range(weeks)]
