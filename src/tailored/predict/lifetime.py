"""The lifetime-value job: summarise, fit, check on the holdout, score every customer.

``model="auto"`` fits each of :data:`AUTO_MODELS` on the calibration period and keeps the one
with the smaller mean absolute error of purchase days in the holdout period (the errors of
each are in the report). BG/NBD can only lose a customer at a repeat purchase, so it gives
every customer without one ``p_alive`` = 1 however long ago they bought; the modified BG/NBD
lets a one-time buyer lapse too. The report says how many one-time buyers there are and
how many the chosen model holds certainly alive.
"""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from tailored.errors import InvalidInput
from tailored.extras import require
from tailored.predict.clv import MODELS, LifetimeValue
from tailored.predict.holdout import cumulative_curve, holdout_errors
from tailored.predict.purchases import (
    check_period,
    excluded_buyers,
    purchase_range,
    rfm_summary,
)

if TYPE_CHECKING:
    import pandas as pd

    from tailored.analytics.source import Source

__all__ = ["AUTO_MODELS", "TOP_CUSTOMERS", "run_lifetime_value"]

#: The purchase-count models ``model="auto"`` chooses between.
AUTO_MODELS = ("bg-nbd", "mbg-nbd")
#: How many of the most valuable customers the report names.
TOP_CUSTOMERS = 10
_DAYS_PER_MONTH = 30.4375


def _summary_stats(values: np.ndarray) -> dict[str, float]:
    return {"mean": round(float(values.mean()), 2), "median": round(float(np.median(values)), 2),
            "p90": round(float(np.quantile(values, 0.9)), 2),
            "total": round(float(values.sum()), 2)}


def _choose(summary: pd.DataFrame, *, fit_method: str, calibration_end: date,
            holdout_end: date | None, time_unit: str) -> tuple[str, dict[str, Any]]:
    """The model with the smallest holdout MAE of :data:`AUTO_MODELS`, and each one's
    holdout errors."""
    if holdout_end is None:
        raise InvalidInput("--model auto chooses the model by its error on the holdout "
                           "period: give a holdout end (--holdout-end)", field="holdout_end")
    errors = {}
    for name in AUTO_MODELS:
        fitted = LifetimeValue(model=name, fit_method=fit_method, spend=False).fit(summary)
        errors[name] = {
            "params": {k: round(v, 4) for k, v in fitted.params_.items()},
            **holdout_errors(fitted, summary, calibration_end=calibration_end,
                             holdout_end=holdout_end, time_unit=time_unit)}
    best = min(AUTO_MODELS, key=lambda n: (errors[n]["mae_purchases"], AUTO_MODELS.index(n)))
    return best, {"by": "holdout mae_purchases", "candidates": errors, "chosen": best}


def _p_alive_note(model: str, frequency: np.ndarray, alive: np.ndarray) -> dict[str, Any]:
    """How many customers bought once, and how many of them the model holds alive for
    certain (BG/NBD: all of them, by construction)."""
    once = frequency == 0
    certain = int((alive[once] >= 0.9999).sum())
    note = (f"{model} gives every customer without a repeat purchase p_alive = 1: it lets "
            "a customer lapse only after a repeat purchase, so a one-time buyer counts as "
            "alive however long ago they bought; mbg-nbd (or --model auto) lets them lapse"
            if model == "bg-nbd" else
            f"{model} lets one-time buyers lapse: their p_alive falls with the time since "
            "their purchase")
    return {"one_time_buyers": int(once.sum()), "one_time_p_alive_1": certain, "note": note}


def _top(current: pd.DataFrame, value: np.ndarray, purchases: np.ndarray,
         alive: np.ndarray, users: dict[str, str]) -> list[dict[str, Any]]:
    order = np.argsort(-value, kind="stable")[:TOP_CUSTOMERS]
    ids = current["customer_id"].to_numpy()
    return [{"profile_id": str(ids[i]), "user_id": users.get(str(ids[i])),
             "clv": round(float(value[i]), 2),
             "expected_purchases": round(float(purchases[i]), 3),
             "p_alive": round(float(alive[i]), 4),
             "purchase_days": int(current["frequency"].iloc[i]) + 1}
            for i in order]


def _user_ids(source: Source, ids: list[str]) -> dict[str, str]:
    p = source.profiles
    rows = p.filter(p.profile_id.isin(ids) & p.user_id.notnull()).select(
        "profile_id", "user_id").execute()
    return dict(zip(rows["profile_id"].astype(str), rows["user_id"].astype(str), strict=True))


def run_lifetime_value(
    source: Source, *, calibration_end: date, holdout_end: date | None = None,
    time_unit: str = "weeks", model: str = "bg-nbd", months: int = 12,
    discount_rate: float = 0.01, fit_method: str = "map", include_anonymous: bool = False,
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Fit on purchases up to ``calibration_end``, check on those up to ``holdout_end``, and
    score every customer on their whole history.

    ``model`` is one of :data:`~tailored.predict.clv.MODELS` or ``"auto"`` (needs
    ``holdout_end``). Customers are identified people unless ``include_anonymous``.
    Returns the report and the traits per profile: ``clv`` (discounted value of the next
    ``months`` months), ``expected_purchases`` (purchase days in those months) and
    ``p_alive``.
    """
    require("pymc_marketing", "clv")  # before reading anything: a missing extra fails at once
    started = time.perf_counter()
    if model != "auto" and model not in MODELS:
        raise InvalidInput(f"model must be auto or one of {', '.join(MODELS)}, got "
                           f"{model!r}", field="model")
    span = purchase_range(source, include_anonymous=include_anonymous)
    check_period(calibration_end, holdout_end, span)
    if months < 1:
        raise InvalidInput(f"months must be at least 1, got {months}", field="months")
    summary = rfm_summary(source, calibration_end=calibration_end, holdout_end=holdout_end,
                          time_unit=time_unit, include_anonymous=include_anonymous)
    selection = None
    chosen = model
    if model == "auto":
        chosen, selection = _choose(summary, fit_method=fit_method,
                                    calibration_end=calibration_end,
                                    holdout_end=holdout_end, time_unit=time_unit)
    fitted = LifetimeValue(model=chosen, fit_method=fit_method).fit(summary)
    report: dict[str, Any] = {
        "model": chosen,
        "params": {k: round(v, 4) for k, v in (fitted.params_ | fitted.spend_params_).items()},
        "time_unit": time_unit,
        "fit_method": fit_method,
        "customers": fitted.n_customers_,
        "repeat_customers": fitted.n_repeat_customers_,
        "calibration": {"start": str(span.first), "end": str(calibration_end)},
        "data": {"first_purchase": str(span.first), "last_purchase": str(span.last),
                 "customers": span.customers},
        **excluded_buyers(source, include_anonymous=include_anonymous).report(),
    }
    if selection is not None:
        report["model_requested"] = "auto"
        report["selection"] = selection
    if holdout_end is not None:
        report["holdout"] = {
            "end": str(holdout_end),
            **holdout_errors(fitted, summary, calibration_end=calibration_end,
                             holdout_end=holdout_end, time_unit=time_unit),
            "curve": cumulative_curve(source, fitted, summary, calibration_end=calibration_end,
                                      holdout_end=holdout_end, time_unit=time_unit,
                                      include_anonymous=include_anonymous),
        }
    # Scores use the calibrated parameters on each customer's whole history to date.
    current = rfm_summary(source, calibration_end=span.last, time_unit=time_unit,
                          include_anonymous=include_anonymous)
    horizon = months * _DAYS_PER_MONTH / (7.0 if time_unit == "weeks" else 1.0)
    purchases = fitted.expected_purchases(current, horizon)
    alive = fitted.probability_alive(current)
    value = fitted.lifetime_value(current, months=months, discount_rate=discount_rate,
                                  time_unit=time_unit)
    report["clv"] = {"months": months, "discount_rate": discount_rate,
                     "as_of": str(span.last), **_summary_stats(value)}
    report["expected_purchases"] = _summary_stats(purchases)
    report["p_alive"] = _p_alive_note(chosen, current["frequency"].to_numpy(), alive)
    top_ids = [str(current["customer_id"].iloc[i])
               for i in np.argsort(-value, kind="stable")[:TOP_CUSTOMERS]]
    report["top_customers"] = _top(current, value, purchases, alive,
                                   _user_ids(source, top_ids))
    traits = {
        str(pid): {"clv": round(float(v), 2), "expected_purchases": round(float(n), 3),
                   "p_alive": round(float(a), 4)}
        for pid, v, n, a in zip(current["customer_id"], value, purchases, alive, strict=True)
    }
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report, traits
