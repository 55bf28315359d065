"""Retention: of the people who started in a period, how many came back k periods later.

A person's *start* is their first activity: any event (``activity="any"``, imported history
included) or their first order (``activity="order"``). Period 0 is the
period they started in, so its retention is 1. Rows are cohorts by start week or month
(``by=None``) or groups — a trait's values or stored segments (``by="age"``,
``by="segment"``) — where each person still counts periods from their own start.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tailored.analytics.checks import require_events
from tailored.analytics.groups import profile_groups
from tailored.analytics.orders import orders
from tailored.analytics.periods import check_period, period_index, period_start
from tailored.analytics.source import Source
from tailored.errors import InvalidInput

__all__ = ["ACTIVITIES", "activity", "retention"]

ACTIVITIES = ("any", "order")


def activity(source: Source, kind: str = "any") -> ir.Table:
    """``profile_id`` and ``timestamp`` of every activity of ``kind`` ("any" or "order")."""
    if kind not in ACTIVITIES:
        raise InvalidInput(f"activity must be one of {', '.join(ACTIVITIES)}, got {kind!r}",
                           field="activity")
    if kind == "order":
        rows = orders(source)
    else:
        e = source.events
        rows = e.filter(e.profile_id.notnull())
    return rows.select("profile_id", "timestamp")


def retention(source: Source, *, period: str = "month", by: str | None = None,
              kind: str = "any", periods: int = 12) -> ir.Table:
    """Per ``cohort`` (start of the start period, as text "2026-06-01"; or the group's value
    with ``by``) and ``period`` k = 0..``periods``: ``size`` (people who started),
    ``active`` (of them, active k periods after their start) and ``retention``."""
    check_period(period)
    if periods < 1:
        raise InvalidInput(f"periods must be 1 or more, got {periods}", field="periods")
    require_events(source)
    act = activity(source, kind)
    starts = act.group_by("profile_id").agg(first=act.timestamp.min())
    j = act.inner_join(starts, "profile_id")
    j = j.select("profile_id", start=period_start(j.first, period),
                 k=period_index(j.first, j.timestamp, period))
    j = j.mutate(cohort=j.start.date().cast("string"))
    if by is not None:
        groups = profile_groups(source, by)
        j = j.inner_join(groups, "profile_id").select("profile_id", "start", "k",
                                                      cohort="group")
    j = j.filter(j.k <= periods)
    active = j.group_by(["cohort", "k"]).agg(active=j.profile_id.nunique())
    sizes = j.filter(j.k == 0).group_by("cohort").agg(size=j.profile_id.nunique(),
                                                      start=j.start.min())
    # A period no one was active in is a 0, up to the last period the data reaches (for a
    # cohort, from its start; for a group, the longest anyone could have been seen).
    last = act.timestamp.max()
    reach = (period_index(sizes.start, last, period) if by is None
             else period_index(act.timestamp.min(), last, period))
    sizes = sizes.mutate(reach=reach)
    ks = ibis.memtable({"k": list(range(periods + 1))})
    grid = sizes.cross_join(ks)
    grid = grid.filter(grid.k <= grid.reach)
    out = grid.left_join(active, [grid.cohort == active.cohort, grid.k == active.k])
    n = out.active.fill_null(0)
    return out.select(
        cohort=grid.cohort, period=grid.k.cast("int64"), size=grid.size, active=n,
        retention=n.cast("float64") / grid.size,
    ).order_by(["cohort", "period"])
