"""Loyalty: how many buyers come back to buy again, per group.

A *buyer* has at least one order; a *repeat buyer* has orders on at least two different
days (several orders on one day are one shopping trip, as the buy-till-you-die literature
counts repeat purchases). Retention per group over time is
:func:`tailored.analytics.cohorts.retention` with ``by``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tailored.analytics.checks import require_events
from tailored.analytics.groups import profile_groups
from tailored.analytics.orders import orders
from tailored.analytics.source import Source

__all__ = ["repeat_purchases"]


def repeat_purchases(source: Source, *, by: str | None = None) -> ir.Table:
    """Per ``group`` ("all" without ``by``): ``buyers``, ``repeat_buyers``, ``repeat_rate``,
    ``orders_per_buyer`` and ``purchase_days_per_buyer``."""
    require_events(source)
    od = orders(source)
    per = od.group_by("profile_id").agg(orders=od.count(),
                                        days=od.timestamp.date().nunique())
    if by is None:
        per = per.mutate(group=ibis.literal("all", "string"))
    else:
        per = per.inner_join(profile_groups(source, by), "profile_id")
    g = per.group_by("group").agg(
        buyers=per.count(), repeat_buyers=(per.days >= 2).sum().cast("int64"),
        orders=per.orders.sum().cast("int64"), days=per.days.sum().cast("int64"))
    buyers = g.buyers.cast("float64")
    return g.select(
        "group", "buyers", "repeat_buyers", repeat_rate=g.repeat_buyers.cast("float64") / buyers,
        orders_per_buyer=g.orders.cast("float64") / buyers,
        purchase_days_per_buyer=g.days.cast("float64") / buyers,
    ).order_by([ibis.desc("buyers"), "group"])
