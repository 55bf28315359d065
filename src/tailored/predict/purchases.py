"""Purchase histories for lifetime-value models: who bought on which day, for how much.

The BTYD models (BG/NBD, Pareto/NBD, Gamma-Gamma) see a customer as a sequence of purchase
*days*: several orders on one day are one purchase, as in the literature (Fader, Hardie and
Lee 2005). Everything up to the day summary is one Ibis expression, so it runs on DuckDB and
PostgreSQL alike; the per-customer summary is small and comes back as a pandas frame.

Days are whole UTC days counted from the Unix epoch (from epoch seconds, which mean the same
on both engines whatever a session's time zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from tailored.analytics.customers import Customers, identified_profiles, keep_customers
from tailored.analytics.orders import orders
from tailored.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from tailored.analytics.source import Source

__all__ = [
    "TIME_UNITS",
    "PurchaseRange",
    "as_datetime",
    "check_period",
    "day_of",
    "excluded_buyers",
    "purchase_days",
    "purchase_range",
    "rfm_summary",
]

#: Days in each time unit the models may count in.
TIME_UNITS = {"days": 1.0, "weeks": 7.0}
_EPOCH = date(1970, 1, 1)


def _day_number(d: date) -> int:
    return (d - _EPOCH).days


def day_of(number: int) -> date:
    return _EPOCH + timedelta(days=int(number))


def purchase_days(source: Source, *, include_anonymous: bool = False) -> ir.Table:
    """One row per customer and day with a purchase: ``profile_id``, ``day`` (days since
    1970-01-01, UTC) and ``value`` (what the orders of that day were worth).

    Customers are identified people (:mod:`tailored.analytics.customers`): an anonymous
    profile (a guest checkout) can never be seen to come back, so it would count as a
    customer who never repeats. ``include_anonymous`` takes everyone."""
    od = orders(source)
    if not include_anonymous:
        od = od.semi_join(identified_profiles(source), "profile_id")
    day = (od.timestamp.epoch_seconds() / 86_400).floor().cast("int64")
    return (od.mutate(day=day)
            .group_by(["profile_id", "day"])
            .aggregate(value=od.value.fill_null(0.0).sum().cast("float64")))


def excluded_buyers(source: Source, *, include_anonymous: bool = False) -> Customers:
    """How many buyers the customer rule leaves out of the purchase histories."""
    buyers = orders(source).select("profile_id").distinct()
    return keep_customers(source, buyers, include_anonymous=include_anonymous)[1]


@dataclass(frozen=True)
class PurchaseRange:
    """The first and last day with a purchase, and how many customers bought at all."""

    first: date
    last: date
    customers: int


def purchase_range(source: Source, *, include_anonymous: bool = False) -> PurchaseRange:
    """The span of the purchase history; no purchases at all is bad input."""
    days = purchase_days(source, include_anonymous=include_anonymous)
    row = days.aggregate(first=days.day.min(), last=days.day.max(),
                         customers=days.profile_id.nunique()).execute()
    customers = int(row["customers"].iloc[0] or 0)
    if customers == 0:
        anonymous = "" if include_anonymous else (
            " by an identified customer (a user id or an e-mail; --include-anonymous takes "
            "guest buyers too)")
        raise InvalidInput(f"no purchases in the data{anonymous}: lifetime value and "
                           "propensity need Order Completed events (import orders first)",
                           field="snapshot")
    return PurchaseRange(day_of(row["first"].iloc[0]), day_of(row["last"].iloc[0]), customers)


def check_period(calibration_end: date, holdout_end: date | None, span: PurchaseRange
                 ) -> None:
    """Dates inside the data, in order: each mistake is named with the data's range."""
    within = f"the purchases run from {span.first} to {span.last}"
    if not span.first <= calibration_end < span.last:
        raise InvalidInput(f"calibration end {calibration_end} is outside the data: {within}",
                           field="calibration_end")
    if holdout_end is not None:
        if holdout_end <= calibration_end:
            raise InvalidInput(f"holdout end {holdout_end} is not after the calibration end "
                               f"{calibration_end}", field="holdout_end")
        if holdout_end > span.last:
            raise InvalidInput(f"holdout end {holdout_end} is after the data: {within}",
                               field="holdout_end")


def rfm_summary(source: Source, *, calibration_end: date, holdout_end: date | None = None,
                time_unit: str = "weeks", include_anonymous: bool = False) -> pd.DataFrame:
    """The BTYD summary of every customer whose first purchase is on or before
    ``calibration_end``.

    Columns: ``customer_id`` (profile id); ``frequency`` (repeat purchase days in the
    calibration period, which includes ``calibration_end``); ``recency`` (first to last
    purchase day) and ``T`` (first purchase day to ``calibration_end``), in ``time_unit``;
    ``monetary_value`` (mean value of the repeat purchase days, 0 without one);
    ``first_day`` (the date); with ``holdout_end``, ``holdout_frequency`` (purchase days
    after ``calibration_end`` up to and including ``holdout_end``). Customers as for
    :func:`purchase_days`.
    """
    if time_unit not in TIME_UNITS:
        raise InvalidInput(f"time unit must be one of {', '.join(TIME_UNITS)}, got "
                           f"{time_unit!r}", field="time_unit")
    scale = TIME_UNITS[time_unit]
    end = _day_number(calibration_end)
    days = purchase_days(source, include_anonymous=include_anonymous)
    firsts = days.group_by("profile_id").aggregate(first_n=days.day.min())
    firsts = firsts.filter(firsts.first_n <= end)
    cal = days.filter(days.day <= end)
    joined = cal.join(firsts, "profile_id")
    repeat = joined.day > joined.first_n
    summary = joined.group_by(["profile_id", "first_n"]).aggregate(
        frequency=repeat.sum().cast("int64"),
        last_n=joined.day.max(),
        repeat_value=joined.value.sum(where=repeat).fill_null(0.0),
    )
    if holdout_end is not None:
        later = days.filter((days.day > end) & (days.day <= _day_number(holdout_end)))
        counted = later.group_by("profile_id").aggregate(holdout_frequency=later.count())
        summary = summary.left_join(counted, "profile_id").select(
            *[summary[c] for c in summary.columns],
            holdout_frequency=counted.holdout_frequency.fill_null(0).cast("int64"))
    frame = summary.order_by("profile_id").execute()
    frame = frame.rename(columns={"profile_id": "customer_id"})
    frame["recency"] = (frame["last_n"] - frame["first_n"]).astype("float64") / scale
    frame["T"] = (end - frame["first_n"]).astype("float64") / scale
    frequency = frame["frequency"].astype("int64")
    frame["monetary_value"] = (frame["repeat_value"].astype("float64")
                               / frequency.where(frequency > 0, 1)).where(frequency > 0, 0.0)
    frame["first_day"] = [day_of(d) for d in frame["first_n"]]
    columns = ["customer_id", "frequency", "recency", "T", "monetary_value", "first_day"]
    if holdout_end is not None:
        columns.append("holdout_frequency")
    return frame[columns].reset_index(drop=True)


def as_datetime(d: date) -> datetime:
    """Midnight UTC of a date."""
    return datetime(d.year, d.month, d.day, tzinfo=UTC)
