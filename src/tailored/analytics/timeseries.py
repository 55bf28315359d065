"""Events, active people, orders and revenue per day, week or month, and a short forecast.

The series is aggregated by the engine; the forecast runs in Python on those few numbers:
Holt's linear trend (statsmodels ``ExponentialSmoothing`` with an additive, damped trend),
fitted on the complete periods — the last one is left out of the fit while the data has not
reached its end, since a half-finished week would read as a drop. A daily series with two
weeks or more is also fitted with an additive weekly season (Holt-Winters), and the season is
kept when it lowers the corrected AIC: shops have weekly rhythms (a Friday newsletter, a
weekend peak) that a trend alone flattens into a line.
"""

from __future__ import annotations

import warnings
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from tailored.analytics.checks import require_events
from tailored.analytics.orders import orders as order_events
from tailored.analytics.periods import check_period, period_start
from tailored.analytics.source import Source
from tailored.errors import InvalidInput
from tailored.extras import require

__all__ = ["METRICS", "MIN_FIT_PERIODS", "WEEK", "forecast", "series", "timeseries"]

METRICS = ("events", "people", "orders", "revenue")
MIN_FIT_PERIODS = 4
#: The season of a daily series: a week.
WEEK = 7
_OFFSETS = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1),
            "month": pd.DateOffset(months=1)}


def series(source: Source, *, period: str = "day") -> ir.Table:
    """Per ``period`` start: ``events``, ``people`` (distinct), ``orders`` (order events)
    and ``revenue`` (the orders' values); periods without events are absent."""
    check_period(period)
    require_events(source)
    e = source.events
    ev = e.group_by(start=period_start(e.timestamp, period)).agg(
        events=e.count(), people=e.profile_id.nunique())
    placed = order_events(source)
    od = placed.group_by(start=period_start(placed.timestamp, period)).agg(
        orders=placed.count(), revenue=placed.value.sum())
    j = ev.left_join(od, "start")
    return j.select(ev.start, "events", "people", orders=j.orders.fill_null(0),
                    revenue=j.revenue.fill_null(0.0)).order_by("start")


def _complete(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """Every period from the first to the last, missing ones as zeros."""
    frame = frame.set_index(pd.to_datetime(frame["start"], utc=True)).drop(columns="start")
    full = pd.date_range(frame.index.min(), frame.index.max(),
                         freq={"day": "D", "week": "W-MON", "month": "MS"}[period])
    return frame.reindex(full, fill_value=0).rename_axis("start")


def forecast(values: pd.Series, horizon: int, *, season: int | None = None
             ) -> dict[str, Any]:
    """Holt's damped linear trend fitted to ``values`` — with an additive season of
    ``season`` periods too when there are two seasons of data and it fits better (lower
    AICc): the next ``horizon`` values, or ``None`` with the reason when there are too few
    points to fit."""
    ExponentialSmoothing = require("statsmodels.tsa.holtwinters",
                                   "forecast").ExponentialSmoothing

    y = values.astype("float64").to_numpy()
    if len(y) < MIN_FIT_PERIODS:
        return {"values": None, "reason": f"needs at least {MIN_FIT_PERIODS} complete "
                f"periods to fit a trend, has {len(y)}"}
    if float(y.std()) == 0.0:
        return {"values": [float(y[-1])] * horizon, "reason": "constant series"}

    def fitted(seasonal: bool) -> Any:
        with warnings.catch_warnings():
            # Convergence chatter on short series; the fit is still the best found.
            warnings.simplefilter("ignore")
            # No brute-force grid before the optimiser: half the time, the same fit on the
            # weekly and daily series tried (the optimiser starts from statsmodels'
            # heuristics).
            return ExponentialSmoothing(
                y, trend="add", damped_trend=True, initialization_method="estimated",
                seasonal="add" if seasonal else None,
                seasonal_periods=season if seasonal else None).fit(use_brute=False)

    fit = fitted(False)
    method = "holt-damped"
    if season is not None and len(y) >= 2 * season:
        with_season = fitted(True)
        if with_season.aicc < fit.aicc:
            fit, method = with_season, "holt-winters"
    out = {"values": [max(0.0, float(v)) for v in fit.forecast(horizon)],
           "method": method, "alpha": float(fit.params["smoothing_level"]),
           "beta": float(fit.params["smoothing_trend"]),
           "phi": float(fit.params["damping_trend"])}
    if method == "holt-winters":
        out.update(seasonal_periods=season, gamma=float(fit.params["smoothing_seasonal"]))
    return out


def timeseries(source: Source, *, period: str = "day", horizon: int = 7,
               metrics: tuple[str, ...] = METRICS) -> dict[str, Any]:
    """The series (every period, gaps as zeros) and a ``horizon``-period forecast of each
    metric: ``{"period", "rows": [...], "partial_last", "forecast": {metric: {...}}}``."""
    check_period(period)
    if horizon < 0:
        raise InvalidInput(f"horizon must be 0 or more periods, got {horizon}",
                           field="horizon")
    for m in metrics:
        if m not in METRICS:
            raise InvalidInput(f"metric must be one of {', '.join(METRICS)}, got {m!r}",
                               field="metric")
    frame = _complete(series(source, period=period).execute(), period)
    last_event = pd.Timestamp(source.events.timestamp.max().execute())
    if last_event.tzinfo is None:
        last_event = last_event.tz_localize("UTC")
    partial = bool(last_event < frame.index[-1] + _OFFSETS[period] - pd.Timedelta(seconds=1))
    fit_on = frame.iloc[:-1] if partial else frame
    future = [frame.index[-1] + _OFFSETS[period] * (i + 1) for i in range(horizon)]
    out: dict[str, Any] = {"period": period, "partial_last": partial, "forecast": {}}
    columns = {m: [float(v) if m == "revenue" else int(v) for v in frame[m]] for m in METRICS}
    out["rows"] = [{"start": ts.date().isoformat(), **{m: columns[m][i] for m in METRICS}}
                   for i, ts in enumerate(frame.index)]
    if horizon:
        for m in metrics:
            f = forecast(fit_on[m], horizon, season=WEEK if period == "day" else None)
            if f["values"] is not None:
                f["start"] = [ts.date().isoformat() for ts in future]
            out["forecast"][m] = f
    return out


