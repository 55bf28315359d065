"""Built-in lifecycle segments: rules in the segment language, shipped by name.

Time thresholds are fixed (days, as of the evaluation moment); "high" and "low" thresholds
are read from the data each time — the 80th and 20th percentiles among buyers (or among the
people whose income is known) — and written into the stored rule, so a segment's definition
always shows the number it used. docs/segments.md lists them. Like every customer analysis,
they take identified customers (a user id or an e-mail) unless ``include_anonymous``: the
percentiles, and the members.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tailored.analytics.customers import identified_profiles, keep_customers
from tailored.analytics.features import customer_features
from tailored.analytics.source import trait
from tailored.segments.compile import numeric
from tailored.segments.compute import compute_rules
from tailored.segments.definitions import define_segment
from tailored.segments.rules import parse_rule

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tailored.analytics.source import Source
    from tailored.store import Store

__all__ = ["HIGH_INCOME_BANDS", "LIFECYCLE_SEGMENTS", "LOW_INCOME_BANDS", "LifecycleWindows",
           "compute_lifecycle", "lifecycle_rules"]

#: The built-in segments, in the order they are reported.
LIFECYCLE_SEGMENTS = ("new", "active", "returning", "at_risk", "churned", "high_frequency",
                      "low_frequency", "high_spend", "low_spend", "high_income", "low_income")
# Income bands (the demo shop's ``income_band`` trait) that count as high or low.
HIGH_INCOME_BANDS = ("70-100k", "100k+")
LOW_INCOME_BANDS = ("<20k", "20-40k")
_HIGH, _LOW = 0.8, 0.2


@dataclass(frozen=True)
class LifecycleWindows:
    """The time thresholds of the lifecycle segments, in days."""

    new_days: float = 30
    active_days: float = 30
    returning_days: float = 90
    at_risk_days: float = 90
    churned_days: float = 180


def _q(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 2)


def _thresholds(source: Source, f: ir.Table, people: ir.Table | None
                ) -> dict[str, float | None]:
    """The 80th and 20th percentiles of purchase days and revenue among buyers (in the
    metrics ``f``), and of a numeric ``income`` trait among the people (of ``people``, when
    given) who have one."""
    buyers = f.filter(f.orders > 0)
    row = buyers.aggregate(
        freq_high=buyers.purchase_days.cast("float64").quantile(_HIGH),
        freq_low=buyers.purchase_days.cast("float64").quantile(_LOW),
        spend_high=buyers.revenue.quantile(_HIGH),
        spend_low=buyers.revenue.quantile(_LOW)).execute().iloc[0]
    p = source.profiles
    if people is not None:
        p = p.semi_join(people, "profile_id")
    income = p.select(income=numeric(trait(source, p.traits, "income")))
    income = income.filter(income.income.notnull())
    inc = income.aggregate(high=income.income.quantile(_HIGH),
                           low=income.income.quantile(_LOW)).execute().iloc[0]
    return {"freq_high": _q(row["freq_high"]), "freq_low": _q(row["freq_low"]),
            "spend_high": _q(row["spend_high"]), "spend_low": _q(row["spend_low"]),
            "income_high": _q(inc["high"]), "income_low": _q(inc["low"])}


def lifecycle_rules(thresholds: dict[str, float | None],
                    windows: LifecycleWindows = LifecycleWindows()) -> dict[str, Any]:
    """The rule documents of the lifecycle segments for these percentile thresholds."""
    w = windows
    buyer = {"metric": "orders", ">=": 1}
    # Without buyers there is no percentile: a rule no one meets keeps the segment (empty).
    never = 1e300
    freq_high = max(2.0, thresholds["freq_high"]) if thresholds["freq_high"] else never
    freq_low = max(1.0, thresholds["freq_low"] or 0.0)
    spend_high = thresholds["spend_high"] if thresholds["spend_high"] is not None else never
    spend_low = thresholds["spend_low"] if thresholds["spend_low"] is not None else -never
    high_income: list[Any] = [{"trait": "income_band", "in": list(HIGH_INCOME_BANDS)}]
    low_income: list[Any] = [{"trait": "income_band", "in": list(LOW_INCOME_BANDS)}]
    if thresholds["income_high"] is not None and thresholds["income_low"] is not None:
        high_income.append({"trait": "income", ">=": thresholds["income_high"]})
        low_income.append({"trait": "income", "<=": thresholds["income_low"]})
    return {
        "new": {"metric": "tenure_days", "<=": w.new_days},
        "active": {"metric": "recency_days", "<=": w.active_days},
        "returning": {"all": [{"metric": "purchase_days", ">=": 2},
                              {"metric": "recency_days", "<=": w.returning_days},
                              {"metric": "tenure_days", ">": w.new_days}]},
        "at_risk": {"all": [buyer, {"metric": "recency_days", ">": w.at_risk_days},
                            {"metric": "recency_days", "<=": w.churned_days}]},
        "churned": {"metric": "recency_days", ">": w.churned_days},
        "high_frequency": {"metric": "purchase_days", ">=": freq_high},
        "low_frequency": {"all": [buyer, {"metric": "purchase_days", "<=": freq_low}]},
        "high_spend": {"all": [buyer, {"metric": "revenue", ">=": spend_high}]},
        "low_spend": {"all": [buyer, {"metric": "revenue", "<=": spend_low}]},
        "high_income": {"any": high_income},
        "low_income": {"any": low_income},
    }


def compute_lifecycle(store: Store, source: Source, *, as_of: datetime | None = None,
                      windows: LifecycleWindows = LifecycleWindows(),
                      include_anonymous: bool = False) -> dict[str, Any]:
    """Compute and store every lifecycle segment in one query; sizes, thresholds, how many
    anonymous profiles were left out (``excluded``), seconds."""
    started = time.perf_counter()
    # The metrics are computed once, for the thresholds and the rules both, into a
    # temporary table (Ibis's cache() fails to drop its table on DuckDB).
    temp_name, everyone = source.temporary_table(customer_features(source, as_of=as_of),
                                                 "tailored_lifecycle_metrics")
    metrics, population = keep_customers(source, everyone, include_anonymous=include_anonymous)
    people = None if include_anonymous else identified_profiles(source)
    try:
        thresholds = _thresholds(source, metrics, people)
        docs = lifecycle_rules(thresholds, windows)
        for segment, doc in docs.items():
            define_segment(store, segment, doc, kind="lifecycle")
        rules = {segment: parse_rule(doc) for segment, doc in docs.items()}
        results = compute_rules(store, source, rules, kind="lifecycle", as_of=as_of,
                                metrics=metrics, people=people)
    finally:
        source.drop_temporary(temp_name)
    return {"segments": {r["segment"]: r for r in results},
            "sizes": {r["segment"]: r["size"] for r in results},
            "thresholds": thresholds, **population.report(),
            "seconds": round(time.perf_counter() - started, 3)}

