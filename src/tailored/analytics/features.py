"""Customer features: one row per person of what they did before a moment, as Ibis
expressions that run unchanged on DuckDB and PostgreSQL.

These feed RFM, clustering, classifier segments and the predictions. Only events strictly
before ``as_of`` are read, so a feature table built at a cut-off never sees the label period
(no leakage). Purchases are orders (:func:`tailored.analytics.orders.orders`): one per
``Order Completed`` event, with or without product lines, worth its ``revenue``, ``total`` or
``value`` (else the sum of its lines).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt

from tailored.analytics.orders import orders as order_events
from tailored.errors import InvalidInput
from tailored.events.names import SEGMENT_EVENTS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tailored.analytics.source import Source

__all__ = ["FEATURE_COLUMNS", "category_shares", "customer_features", "price_profile",
           "resolve_as_of"]

#: The columns of :func:`customer_features`, in order.
FEATURE_COLUMNS = (
    "profile_id", "first_seen", "last_seen", "recency_days", "tenure_days", "orders",
    "purchase_days", "revenue", "avg_order_value", "events", "views", "carts",
    "distinct_items", "active_days", "first_order", "last_order", "order_recency_days",
)
_DAY = 86_400.0
_UTC_TS = dt.Timestamp(timezone="UTC")


def resolve_as_of(source: Source, as_of: datetime | None) -> tuple[datetime, bool]:
    """The moment features are taken at, and whether events *at* it count.

    Without ``as_of`` it is the latest event's time and every event counts (else the latest
    event would be left out of its own snapshot); with one, only events strictly before it.
    """
    if as_of is not None:
        if as_of.tzinfo is None:
            raise InvalidInput("as_of must be timezone-aware (e.g. 2026-11-30T00:00:00+00:00)",
                               field="as_of")
        return as_of.astimezone(UTC), False
    latest = source.events.timestamp.max().execute()
    if latest is None or latest != latest:  # NULL, or NaT from pandas
        return datetime.now(UTC), True
    latest = latest.to_pydatetime() if hasattr(latest, "to_pydatetime") else latest
    if latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return latest.astimezone(UTC), True


def _before(table: ir.Table, at: ir.TimestampScalar, inclusive: bool) -> ir.Table:
    return table.filter(table.timestamp <= at if inclusive else table.timestamp < at)


def _days_between(later: ir.TimestampValue | float, earlier: ir.TimestampValue
                  ) -> ir.FloatingValue:
    """Whole-and-fractional days from ``earlier`` to ``later`` (epoch seconds on both
    engines; PostgreSQL's interval arithmetic would not compile the same)."""
    start = earlier.epoch_seconds().cast("float64")
    end = later if isinstance(later, float) else later.epoch_seconds().cast("float64")
    return (end - start) / _DAY


def customer_features(source: Source, *, as_of: datetime | None = None) -> ir.Table:
    """One row per profile with any interaction or order before ``as_of``.

    Columns: ``profile_id``; ``first_seen``/``last_seen`` (first and latest event);
    ``recency_days`` (days from ``last_seen`` to ``as_of``); ``tenure_days`` (days from
    ``first_seen`` to ``as_of``); ``orders`` (order events); ``purchase_days`` (distinct
    UTC days with an order); ``revenue`` (sum of the orders' values); ``avg_order_value``
    (revenue / orders, 0 without orders); ``events`` (all events but Segment
    Entered/Exited, which Tailored records); ``views`` and ``carts``
    (interactions with those signals); ``distinct_items`` (items interacted with);
    ``active_days`` (distinct UTC days with any event); ``first_order``/``last_order`` and
    ``order_recency_days`` (days from the latest order to ``as_of``; NULL without orders).

    ``as_of`` defaults to the latest event's time (then every event counts); given, only
    events strictly before it are used.
    """
    when, inclusive = resolve_as_of(source, as_of)
    at = ibis.literal(when, type=_UTC_TS)
    at_seconds = when.timestamp()

    ix = _before(source.interactions, at, inclusive)
    ix = ix.filter(ix.profile_id.notnull())
    acts = ix.group_by("profile_id").aggregate(
        views=ix.count(where=ix.signal == "view"),
        carts=ix.count(where=ix.signal == "cart"),
        distinct_items=ix.item_id.nunique(),
    )
    od = _before(order_events(source), at, inclusive)
    bought = od.group_by("profile_id").aggregate(
        orders=od.count(),
        purchase_days=od.timestamp.date().nunique(),
        revenue=od.value.sum(),
        first_order=od.timestamp.min(),
        last_order=od.timestamp.max(),
    )
    ev = _before(source.events, at, inclusive)
    # Segment Entered/Exited are the system's doing, not activity: a person entering
    # "inactive for 30 days" must not become active by it.
    ev = ev.filter(ev.profile_id.notnull()
                   & (ev.event.isnull() | ~ev.event.isin(sorted(SEGMENT_EVENTS))))
    seen = ev.group_by("profile_id").aggregate(
        first_seen=ev.timestamp.min(), last_seen=ev.timestamp.max(), events=ev.count(),
        active_days=ev.timestamp.date().nunique())

    people = acts.select("profile_id").union(bought.select("profile_id"), distinct=True)
    joined = (people.left_join(acts, "profile_id").left_join(bought, "profile_id")
              .left_join(seen, "profile_id"))
    revenue = joined.revenue.fill_null(0.0).cast("float64")
    orders = joined.orders.fill_null(0).cast("int64")
    features = joined.select(
        profile_id=joined.profile_id,
        first_seen=joined.first_seen,
        last_seen=joined.last_seen,
        recency_days=_days_between(at_seconds, joined.last_seen),
        tenure_days=_days_between(at_seconds, joined.first_seen),
        orders=orders,
        purchase_days=joined.purchase_days.fill_null(0).cast("int64"),
        revenue=revenue,
        avg_order_value=ibis.ifelse(orders > 0, revenue / orders.cast("float64"), 0.0),
        events=joined.events.fill_null(0).cast("int64"),
        views=joined.views.fill_null(0).cast("int64"),
        carts=joined.carts.fill_null(0).cast("int64"),
        distinct_items=joined.distinct_items.fill_null(0).cast("int64"),
        active_days=joined.active_days.fill_null(0).cast("int64"),
        first_order=joined.first_order,
        last_order=joined.last_order,
        order_recency_days=_days_between(at_seconds, joined.last_order),
    )
    return features


def category_shares(source: Source, *, as_of: datetime | None = None, level: int = 0,
                    signals: tuple[str, ...] = ("view", "cart", "order"),
                    prefix: str = "share_") -> ir.Table:
    """Per profile, the share of their interactions (of ``signals``) in each category at
    ``level`` of the item's category path (0 = top level): one ``share_<category>`` column
    per category, summing to 1 for a person with any such interaction.

    Taste shows in *what* people look at, not only how much; clustering uses these beside
    the behavioural features. Same ``as_of`` rule as :func:`customer_features`.
    """
    if level < 0:
        raise InvalidInput(f"level must be 0 or more, got {level}", field="level")
    when, inclusive = resolve_as_of(source, as_of)
    at = ibis.literal(when, type=_UTC_TS)
    items = source.items
    items = items.select(item_id=items.item_id, category=items.category[level])
    ix = _before(source.interactions, at, inclusive)
    ix = ix.filter(ix.profile_id.notnull() & ix.signal.isin(list(signals)))
    rows = ix.inner_join(items, ix.item_id == items.item_id).select(
        profile_id=ix.profile_id, category=items.category)
    rows = rows.filter(rows.category.notnull())
    names = sorted(str(c) for c in rows.select("category").distinct().execute()["category"])
    total = rows.count().cast("float64")
    shares: dict[str, ir.FloatingValue] = {}
    for name in names:
        column = f"{prefix}{_slug(name)}"
        while column in shares:  # two names with one slug ("A&B", "A B")
            column += "_"
        shares[column] = rows.count(where=rows.category == name).cast("float64") / total
    return rows.group_by("profile_id").aggregate(**shares) if shares else \
        rows.select("profile_id").distinct()


def price_profile(source: Source, *, as_of: datetime | None = None,
                  signals: tuple[str, ...] = ("view", "cart", "order"),
                  sale_tag: str = "sale") -> ir.Table:
    """Per profile, how pricey what they look at and buy is: ``price_index`` (the mean of
    item price ÷ the median price of the item's top-level category, so 1 is typical and 0.5
    is half price, comparable across categories) and ``sale_share`` (the share of their
    interactions with items tagged ``sale_tag``). Same ``as_of`` rule as
    :func:`customer_features`; items without a price are left out of the index.
    """
    when, inclusive = resolve_as_of(source, as_of)
    at = ibis.literal(when, type=_UTC_TS)
    items = source.items
    items = items.select(item_id=items.item_id, top=items.category[0], price=items.price,
                         sale=items.tags.contains(sale_tag).fill_null(False))
    medians = items.filter(items.price > 0).group_by("top").aggregate(
        median_price=items.price.median())
    priced = items.left_join(medians, items.top == medians.top).select(
        item_id=items.item_id, sale=items.sale,
        relative=ibis.ifelse(medians.median_price > 0, items.price / medians.median_price,
                             ibis.null("float64")))
    ix = _before(source.interactions, at, inclusive)
    ix = ix.filter(ix.profile_id.notnull() & ix.signal.isin(list(signals)))
    rows = ix.inner_join(priced, ix.item_id == priced.item_id).select(
        profile_id=ix.profile_id, relative=priced.relative, sale=priced.sale)
    return rows.group_by("profile_id").aggregate(
        price_index=rows.relative.mean().cast("float64"),
        sale_share=ibis.ifelse(rows.sale, 1.0, 0.0).mean())


def _slug(name: str) -> str:
    """A column-name-safe form of a category name ("Home & Kitchen" → "home_kitchen")."""
    out = "".join(c.lower() if c.isalnum() else "_" for c in name)
    return "_".join(p for p in out.split("_") if p) or "unnamed"
