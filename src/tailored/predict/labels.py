"""Training data for purchase propensity and churn: features up to a cut-off, labels after.

Features are :func:`tailored.analytics.customer_features` as of the cut-off, which reads only
events strictly before it; the label reads only orders in ``[cut-off, cut-off + horizon)``.
Nothing after the cut-off reaches a feature (a test changes later events and compares).

* ``purchase``: everyone active before the cut-off; 1 if they order within the horizon.
* ``churn``: everyone who ordered before the cut-off; 1 if they do not order again within
  the horizon.

Only customers are scored (:mod:`tailored.analytics.customers`: a user id or an e-mail) unless
``include_anonymous``: an anonymous profile is one browser or one guest checkout, which cannot
be told apart from a person who never returns (Online Retail's guest invoices alone would
make any model look excellent), and campaigns cannot reach it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import numpy as np

from tailored.analytics.customers import Customers, keep_customers_frame
from tailored.analytics.features import customer_features
from tailored.analytics.orders import orders
from tailored.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from tailored.analytics.source import Source

__all__ = [
    "FEATURES",
    "TARGETS",
    "EventRange",
    "check_cutoff",
    "event_range",
    "labelled",
    "scoring_frame",
]

TARGETS = ("purchase", "churn")
#: Model inputs, all from customer_features; counts and money enter as log1p.
FEATURES = ("recency_days", "tenure_days", "order_recency_days", "orders", "purchase_days",
            "revenue", "avg_order_value", "events", "views", "carts", "distinct_items",
            "active_days", "has_ordered")
_UTC_TS = dt.Timestamp(timezone="UTC")


class EventRange:
    """The first and latest event time in the data."""

    def __init__(self, first: datetime, last: datetime) -> None:
        self.first, self.last = first, last


def event_range(source: Source) -> EventRange:
    ev = source.events
    row = ev.aggregate(first=ev.timestamp.min(), last=ev.timestamp.max()).execute()
    first, last = row["first"].iloc[0], row["last"].iloc[0]
    if first is None or first != first:
        raise InvalidInput("no events in the data: import or ingest some first",
                           field="snapshot")
    return EventRange(first.to_pydatetime(), last.to_pydatetime())


def check_cutoff(cutoff: datetime, horizon_days: int, span: EventRange) -> None:
    """The cut-off must leave a horizon of history before it (for training) and after it
    (for the labels of the test)."""
    if horizon_days < 1:
        raise InvalidInput(f"horizon must be at least 1 day, got {horizon_days}",
                           field="horizon_days")
    horizon = timedelta(days=horizon_days)
    earliest, latest = span.first + horizon, span.last - horizon
    if not earliest <= cutoff <= latest:
        window = (f"between {earliest.date()} and {latest.date()}" if earliest <= latest
                  else "impossible: the data is shorter than two horizons")
        raise InvalidInput(
            f"cutoff {cutoff.date()} is outside the data: events run from "
            f"{span.first.date()} to {span.last.date()}, and with a horizon of {horizon_days} "
            f"days the cut-off must be {window}", field="cutoff")


def _prepared(features: pd.DataFrame) -> pd.DataFrame:
    out = features.copy()
    out["has_ordered"] = (out["orders"] > 0).astype(float)
    # Without an order, "days since the last order" is the whole known history.
    out["order_recency_days"] = out["order_recency_days"].fillna(out["tenure_days"])
    for column in FEATURES:
        out[column] = out[column].astype(float).fillna(0.0)
    return out


def _customers(source: Source, features: ir.Table, include_anonymous: bool
               ) -> tuple[pd.DataFrame, Customers]:
    # One query for everyone, then the rule in memory: cheaper than asking the engine twice.
    frame = features.execute().set_index("profile_id")
    kept, customers = keep_customers_frame(source, frame, include_anonymous=include_anonymous)
    return kept.reset_index(), customers


def _buyers(source: Source, start: datetime, end: datetime) -> set[str]:
    od = orders(source)
    window = od.filter((od.timestamp >= ibis.literal(start, type=_UTC_TS))
                       & (od.timestamp < ibis.literal(end, type=_UTC_TS)))
    return set(window.select("profile_id").distinct().execute()["profile_id"])


def labelled(source: Source, *, cutoff: datetime, horizon_days: int, target: str,
             include_anonymous: bool = False) -> pd.DataFrame:
    """Features as of ``cutoff`` and the ``label`` of ``target`` over the next
    ``horizon_days``, one row per person in the target's population."""
    if target not in TARGETS:
        raise InvalidInput(f"target must be purchase or churn, got {target!r}", field="target")
    people, _ = _customers(source, customer_features(source, as_of=cutoff), include_anonymous)
    frame = _prepared(people)
    if target == "churn":
        frame = frame[frame["orders"] > 0]
    buyers = _buyers(source, cutoff, cutoff + timedelta(days=horizon_days))
    bought = frame["profile_id"].isin(buyers).to_numpy()
    frame = frame.assign(label=np.where(bought, 0, 1) if target == "churn"
                         else bought.astype(int))
    return frame.sort_values("profile_id").reset_index(drop=True)


def scoring_frame(source: Source, *, target: str, include_anonymous: bool = False
                  ) -> tuple[pd.DataFrame, Customers]:
    """Features of everyone in the target's population as of the latest event, to score,
    and how many the customer rule left out of it."""
    features = customer_features(source)
    if target == "churn":
        features = features.filter(features.orders > 0)
    people, customers = _customers(source, features, include_anonymous)
    frame = _prepared(people)
    return frame.sort_values("profile_id").reset_index(drop=True), customers
