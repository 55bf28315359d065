"""Funnels: how many people go through an ordered list of events, and how fast.

A person enters at their first event of step 1; they reach step *k* with their first event
of step *k* at or after the time they reached step *k − 1* (strictly after when both steps
are the same event), within ``window_days`` of entering when a window is given. Steps may
happen on any device: the funnel follows the person, which is what stitching is for. A
breakdown (``by="platform"`` or ``by="device"``) puts each person in the group of the event
that made them enter, so every group's numbers add up to the whole. ``device`` is the
device type an app sent (``context.device.type``), else the platform the store derived.

Per step: ``people``, ``conversion`` (share of those who entered), ``step_conversion``
(share of those who reached the previous step) and ``median_seconds`` from the previous
step (a median over the people who reached this step).

Unlike the other analytics, :func:`funnel` runs when called: each step is materialised on the
engine (a temporary table, dropped afterwards) and the small result comes back as an
in-memory Ibis table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from tailored.analytics.checks import require_events, unknown_name
from tailored.analytics.source import Source, trait
from tailored.errors import InvalidInput

__all__ = ["DEFAULT_STEPS", "FUNNEL_BY", "device_of", "event_names", "funnel"]

DEFAULT_STEPS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
FUNNEL_BY = ("platform", "device")
ALL = "all"


def device_of(source: Source, events: ir.Table) -> ir.StringValue:
    """The device type of each event: ``context.device.type`` if sent, else its platform."""
    kind = trait(source, trait(source, events.context, "device"), "type")
    return ibis.coalesce(ibis.cases((kind == "", ibis.null("string")), else_=kind),
                         events.platform, "unknown")


def event_names(source: Source) -> list[str]:
    """The names of the track events in the snapshot."""
    e = source.events
    names = e.filter(e.type == "track", e.event.notnull()).select("event").distinct()
    return sorted(names.execute()["event"])


def _check_steps(source: Source, steps: Sequence[str]) -> list[str]:
    if isinstance(steps, str):
        raise InvalidInput("steps must be a list of event names, not one string",
                           field="steps")
    steps = [s.strip() for s in steps if s and s.strip()]
    if len(steps) < 2:
        raise InvalidInput(f"a funnel needs at least 2 steps, got {len(steps)}"
                           + (f" ({steps[0]!r})" if steps else ""), field="steps")
    require_events(source)
    known = event_names(source)
    for i, step in enumerate(steps, start=1):
        if step not in known:
            err = unknown_name("event", step, known, field=f"steps[{i}]")
            raise InvalidInput(f"step {i}: {err.args[0]}", field=f"steps[{i}]")
    return steps


def funnel(source: Source, steps: Sequence[str] = DEFAULT_STEPS, *, by: str | None = None,
           window_days: float | None = None) -> ir.Table:
    """Per ``group`` ("all" without ``by``) and ``step`` (1-based): ``event``, ``people``,
    ``conversion``, ``step_conversion``, ``median_seconds``."""
    if by is not None and by not in FUNNEL_BY:
        raise InvalidInput(f"by must be one of {', '.join(FUNNEL_BY)} (or nothing), got "
                           f"{by!r}", field="by")
    if window_days is not None and not window_days > 0:
        raise InvalidInput(f"window must be a positive number of days, got {window_days}",
                           field="window")
    steps = _check_steps(source, steps)
    e = source.events
    e = e.filter(e.type == "track", e.profile_id.notnull(), e.event.isin(steps))
    group = ibis.literal(ALL) if by is None else (
        e.platform.fill_null("unknown") if by == "platform" else device_of(source, e))
    # Materialised (a temporary table on the engine): PostgreSQL's planner misjudges the
    # chain of joins over a filtered view of events by orders of magnitude (30 s for 50,000
    # events instead of 0.3 s); over real tables it plans each step as a hash join.
    made: list[str] = []

    def cache(table: ir.Table) -> ir.Table:
        name, cached = source.temporary_table(table, f"tailored_funnel_{len(made)}")
        made.append(name)
        return cached

    try:
        seconds = e.timestamp.epoch_seconds().cast("float64")
        steps_reached = _funnel(cache, e.select(
            "profile_id", "event", "timestamp", "message_id", group=group, t=seconds),
            steps, window_days).to_pandas()
    finally:
        for name in made:
            source.drop_temporary(name)
    return ibis.memtable(_conversions(steps_reached, steps))


def _conversions(reached: pd.DataFrame, steps: list[str]) -> pd.DataFrame:
    """Every group × step (none reached: 0 people), with the conversion rates."""
    groups = sorted(reached["group"].unique()) or [ALL]
    grid = pd.MultiIndex.from_product([groups, range(1, len(steps) + 1)],
                                      names=["group", "step"])
    out = reached.set_index(["group", "step"]).reindex(grid).reset_index()
    out["event"] = [steps[k - 1] for k in out["step"]]
    out["people"] = out["people"].fillna(0).astype("int64")
    start = out.groupby("group")["people"].transform("first").astype("float64")
    before = out.groupby("group")["people"].shift(1).fillna(start).astype("float64")
    people = out["people"].astype("float64")
    out["conversion"] = (people / start).where(start > 0)
    out["step_conversion"] = (people / before).where(before > 0)
    out["median_seconds"] = out["median_seconds"].astype("float64")
    return out[["group", "step", "event", "people", "conversion", "step_conversion",
                "median_seconds"]]


def _funnel(cache: Callable[[ir.Table], ir.Table], events: ir.Table, steps: list[str],
            window_days: float | None) -> ir.Table:
    e = cache(events)

    first = e.filter(e.event == steps[0])
    order = ibis.window(group_by=first.profile_id, order_by=[first.timestamp, first.message_id])
    first = first.mutate(rn=ibis.row_number().over(order))
    # reached: everyone at step k, with the time they reached it (t) and the step before (t0).
    reached = cache(first.filter(first.rn == 0).select(
        "profile_id", "group", t1="t", t0="t", t="t"))
    parts = [_step_row(reached, 1, steps[0])]
    for k in range(2, len(steps) + 1):
        later = e.filter(e.event == steps[k - 1]).select(pid="profile_id", tk="t")
        joined = reached.inner_join(later, reached.profile_id == later.pid)
        joined = joined.filter(joined.tk > joined.t if steps[k - 1] == steps[k - 2]
                               else joined.tk >= joined.t)
        if window_days is not None:
            joined = joined.filter(joined.tk <= joined.t1 + window_days * 86_400.0)
        reached = cache(joined.group_by(["profile_id", "group", "t1", "t"]).agg(
            tk=joined.tk.min()).select("profile_id", "group", "t1", t0="t", t="tk"))
        parts.append(_step_row(reached, k, steps[k - 1]))
    return ibis.union(*parts)


def _step_row(reached: ir.Table, k: int, name: str) -> ir.Table:
    """Per group: how many reached step ``k`` and the median time from step ``k - 1``."""
    gap = (reached.t - reached.t0).median().cast("float64")
    return reached.group_by("group").agg(
        step=ibis.literal(k, "int64"), event=ibis.literal(name, "string"),
        people=reached.count().cast("int64"),
        median_seconds=gap if k > 1 else ibis.null("float64"))
