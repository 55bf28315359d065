"""Orders: one row per ``Order Completed`` event, with or without product lines.

The batch side of :mod:`tailored.events.orders`: an order's value is the first of
``revenue``, ``total`` and ``value`` that is a number, else the sum of its product lines.
The snapshot writes it beside each event (``order_value``); snapshots from before that are
read from the events' JSON and the interactions of each event, with the same result.
Purchases were once read from product lines only, so a store fed order events without
``products`` (server-side order feeds) had no buyers at all; every customer measure (RFM,
lifecycle, clustering, predictions, repeat purchases, revenue series) now reads its orders
here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from tailored.analytics.source import numeric, trait
from tailored.events.names import Signal
from tailored.events.orders import ORDER_EVENTS, ORDER_VALUE_FIELDS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tailored.analytics.source import Source

__all__ = ["ORDER_EVENTS", "orders"]

def orders(source: Source) -> ir.Table:
    """Every order: ``profile_id``, ``message_id``, ``timestamp`` and ``value`` (float,
    NULL when the order says nothing of its worth)."""
    e = source.events
    placed = e.filter((e.type == "track") & e.event.isin(list(ORDER_EVENTS))
                      & e.profile_id.notnull())
    if "order_value" in e.columns:  # worked out once, when the snapshot was written
        return placed.select("profile_id", "message_id", "timestamp",
                             value=placed.order_value.cast("float64"))
    return _from_properties(source, placed)


def _from_properties(source: Source, placed: ir.Table) -> ir.Table:
    """Order values read from the events' JSON, for snapshots written before events carried
    them (the same rule, at every query: a second or more on a year of invoices)."""
    ix = source.interactions
    lines = ix.filter(ix.signal == Signal.ORDER.value)
    line_values = lines.group_by("message_id").aggregate(lines_value=lines.value.sum())
    stated = [numeric(trait(source, placed.properties, name)) for name in ORDER_VALUE_FIELDS]
    placed = placed.select("profile_id", "message_id", "timestamp", *[
        s.name(f"_v{i}") for i, s in enumerate(stated)])
    joined = placed.left_join(line_values, "message_id")
    value = ibis.coalesce(*[joined[f"_v{i}"] for i in range(len(stated))],
                          joined.lines_value)
    return joined.select(profile_id=joined.profile_id, message_id=joined.message_id,
                         timestamp=joined.timestamp, value=value.cast("float64"))
