"""What people look at and buy: views per page, item or category, and per person.

A *view* is a page or screen call (``by="page"``, counted by its name) or an interaction with
the ``view`` signal (``Product Viewed``, ``Product List Viewed``: ``by="item"`` or
``by="category"``). A *purchase* is an order line (signal ``order``); an *order* is one
``Order Completed`` event, however many lines it has (none, too); *revenue* sums the orders'
values (:mod:`tailored.analytics.orders`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tailored.analytics.checks import require_events
from tailored.analytics.orders import orders as order_events
from tailored.analytics.source import Source
from tailored.errors import InvalidInput
from tailored.events.names import Signal

__all__ = ["VIEW_KINDS", "category_of", "people", "views"]

VIEW_KINDS = ("page", "item", "category")
_NONE = "(none)"


def category_of(items: ir.Table, level: int | None = None) -> ir.StringValue:
    """An item's category as text: the whole path ("Home > Kitchen > Mugs"), or one level of
    it (1 = the most general); "(none)" where the item has no category."""
    text = items.category.join(" > ") if level is None else items.category[level - 1]
    return ibis.cases((text.isnull() | (text == ""), _NONE), else_=text)


def views(source: Source, *, by: str = "item", level: int | None = None) -> ir.Table:
    """Views per page, item or category: ``key``, ``views``, ``people`` (distinct viewers),
    busiest first. ``level`` picks one level of the category path (``by="category"``)."""
    if by not in VIEW_KINDS:
        raise InvalidInput(f"by must be one of {', '.join(VIEW_KINDS)}, got {by!r}", field="by")
    if level is not None and level < 1:
        raise InvalidInput(f"level must be 1 or more, got {level}", field="level")
    require_events(source)
    if by == "page":
        e = source.events
        pages = e.filter(e.type.isin(["page", "screen"]))
        rows = pages.select("profile_id", key=ibis.coalesce(pages.name, _NONE))
    else:
        ix = source.interactions
        seen = ix.filter(ix.signal == Signal.VIEW.value)
        if by == "item":
            rows = seen.select("profile_id", key=seen.item_id)
        else:
            items = source.items
            cats = items.select("item_id", key=category_of(items, level))
            joined = seen.left_join(cats, "item_id")
            rows = joined.select("profile_id", key=ibis.coalesce(joined.key, _NONE))
    out = rows.group_by("key").agg(views=rows.count(), people=rows.profile_id.nunique())
    return out.order_by([ibis.desc("views"), "key"])


def people(source: Source) -> ir.Table:
    """Per person: ``events``, ``page_views`` (page/screen calls), ``item_views`` (item views,
    e.g. ``Product Viewed``), ``products_viewed``
    (distinct items), ``purchases`` (order lines), ``orders``, ``revenue``, ``first_seen``,
    ``last_seen``; the most active first."""
    require_events(source)
    e = source.events
    is_page = e.type.isin(["page", "screen"])
    per_event = e.group_by("profile_id").agg(
        events=e.count(), page_views=is_page.sum().cast("int64"),
        first_seen=e.timestamp.min(), last_seen=e.timestamp.max())
    ix = source.interactions
    is_view = ix.signal == Signal.VIEW.value
    is_order = ix.signal == Signal.ORDER.value
    per_item = ix.group_by("profile_id").agg(
        item_views=is_view.sum().cast("int64"),
        products_viewed=ix.item_id.nunique(where=is_view),
        purchases=is_order.sum().cast("int64"))
    od = order_events(source)
    per_order = od.group_by("profile_id").agg(orders=od.count(), revenue=od.value.sum())
    joined = per_event.left_join(per_item, "profile_id").left_join(per_order, "profile_id")
    return joined.select(
        per_event.profile_id, "events",
        page_views=joined.page_views, item_views=joined.item_views.fill_null(0),
        products_viewed=joined.products_viewed.fill_null(0),
        purchases=joined.purchases.fill_null(0), orders=joined.orders.fill_null(0),
        revenue=joined.revenue.fill_null(0.0), first_seen=joined.first_seen,
        last_seen=joined.last_seen,
    ).order_by([ibis.desc("events"), "profile_id"])
