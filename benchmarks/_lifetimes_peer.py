"""The peer of benchmarks/predict.py: the `lifetimes` library's BG/NBD and Gamma-Gamma.

lifetimes 0.11 fails on pandas 3, so it runs in its own virtualenv (.venv-peers, with
pandas<3 and numpy<2) as a subprocess:

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install "lifetimes==0.11.3" "pandas<3" "numpy<2"

It reads the purchases (customer, date, value) that our summary was built from, makes its own
calibration/holdout summary with lifetimes' own function (purchases counted per day, times in
the unit asked), fits, and prints one JSON object: parameters, holdout errors and the
cumulative repeat-purchase curve by week.

    .venv-peers/bin/python benchmarks/_lifetimes_peer.py PURCHASES.csv CAL_END HOLD_END weeks
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import calibration_and_holdout_data


def main() -> None:
    path, cal_end, hold_end, unit = sys.argv[1:5]
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    tx = pd.read_csv(path, parse_dates=["date"])
    scale = 7 if unit == "weeks" else 1
    summary = calibration_and_holdout_data(
        tx, "customer", "date", calibration_period_end=cal_end, observation_period_end=hold_end,
        freq="D", freq_multiplier=scale, monetary_value_col="value")
    bg = BetaGeoFitter(penalizer_coef=0.0)
    bg.fit(summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
    length = summary["duration_holdout"].iloc[0]
    expected = bg.conditional_expected_number_of_purchases_up_to_time(
        length, summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
    actual = summary["frequency_holdout"]
    error = np.asarray(expected) - np.asarray(actual)
    repeat = summary[(summary["frequency_cal"] > 0) & (summary["monetary_value_cal"] > 0)]
    gg = GammaGammaFitter(penalizer_coef=0.0)
    gg.fit(repeat["frequency_cal"], repeat["monetary_value_cal"])
    # The cumulative curve: every customer's expected repeats from their first purchase to
    # the end of each week, beside the actual repeat purchase days.
    first = tx.groupby("customer")["date"].min()
    first = first[first <= pd.Timestamp(cal_end)]
    start, end = first.min(), pd.Timestamp(hold_end)
    days = tx[tx["customer"].isin(first.index)].drop_duplicates(["customer", "date"])
    days = days[(days["date"] > days["customer"].map(first)) & (days["date"] <= end)]
    weeks = (end - start).days // 7 + 1
    week_of = ((days["date"] - start).dt.days // 7).to_numpy()
    actual_curve = np.cumsum(np.bincount(week_of, minlength=weeks)[:weeks])
    curve = []
    for k in range(weeks):
        edge = min(start + pd.Timedelta(days=7 * (k + 1)), end + pd.Timedelta(days=1))
        t = np.clip((edge - first).dt.days.to_numpy(), 0, None) / scale
        predicted = float(np.sum(bg.expected_number_of_purchases_up_to_time(t)))
        curve.append({"week": k + 1, "actual": int(actual_curve[k]),
                      "predicted": round(predicted, 1)})
    print(json.dumps({
        "library": f"lifetimes 0.11.3 (pandas {pd.__version__}, numpy {np.__version__})",
        "customers": len(summary),
        "calibration_repeat_days": int(summary["frequency_cal"].sum()),
        "params": {**{k: round(float(v), 4) for k, v in bg.params_.items()},
                   **{k: round(float(v), 4) for k, v in gg.params_.items()}},
        "holdout": {"actual_purchases": int(actual.sum()),
                    "predicted_purchases": round(float(np.sum(expected)), 2),
                    "mae_purchases": round(float(np.abs(error).mean()), 4),
                    "rmse_purchases": round(float(np.sqrt((error ** 2).mean())), 4)},
        "curve": curve,
        "seconds": round(time.perf_counter() - started, 2),
    }))


if __name__ == "__main__":
    main()
