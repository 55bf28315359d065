"""What each person wants, read from what they did: favourite categories, brands, products
and tags (genres, for films), and the price range they shop in.

Each interaction counts with the weight of its signal — an order says more than a cart, a
cart more than a view (:data:`SIGNAL_WEIGHTS`); a rating counts by its stars (5 stars +2,
3 stars 0, 1 star −2) — and a person's favourites are the values with the highest summed
weight (ties by name). The price range is the middle half (25th to
75th percentile) and median of the prices of the items they ordered, carted or viewed (the
price paid where the event has one, else the catalogue price).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tailored.analytics.behaviour import category_of
from tailored.analytics.checks import require_events
from tailored.analytics.source import Source
from tailored.errors import InvalidInput

__all__ = ["NEED_KINDS", "SIGNAL_WEIGHTS", "favourites", "price_ranges"]

SIGNAL_WEIGHTS = {"order": 5, "checkout": 3, "cart": 3, "wishlist": 2, "rating": 2, "review": 2,
                  "share": 2, "click": 1, "view": 1}
NEED_KINDS = ("category", "brand", "product", "tag")


def _weighted(source: Source, profile_id: str | None) -> ir.Table:
    ix = source.interactions
    ix = ix.filter(ix.signal.isin(list(SIGNAL_WEIGHTS)), ix.profile_id.notnull())
    if profile_id is not None:
        ix = ix.filter(ix.profile_id == profile_id)
    # Whole numbers, cast: PostgreSQL would sum decimal literals as numeric. A rating says
    # how much: 5 stars +2, 3 stars nothing, 1 star -2 (a 1-5 scale is assumed).
    rated = ix.signal.isin(["rating", "review"]) & ix.rating.notnull()
    weight = ibis.cases((rated, ix.rating - 3.0), *[
        (ix.signal == s, w) for s, w in SIGNAL_WEIGHTS.items()], else_=0).cast("float64")
    items = source.items
    cat = items.select("item_id", category=category_of(items), brand=items.brand,
                       tags=items.tags, list_price=items.price)
    j = ix.left_join(cat, ix.item_id == cat.item_id)
    return j.select(ix.profile_id, ix.item_id, "category", "brand", "tags", weight=weight,
                    price=ibis.coalesce(j.price, j.list_price))


def favourites(source: Source, *, top: int = 3, profile_id: str | None = None) -> ir.Table:
    """Per person (or one ``profile_id``), ``kind`` (category, brand, product, tag), ``rank``
    (1 = favourite), ``value`` and ``score`` (summed signal weight): the ``top`` of each."""
    if top < 1:
        raise InvalidInput(f"top must be 1 or more, got {top}", field="top")
    require_events(source)
    w = _weighted(source, profile_id)
    parts = []
    tags = w.select("profile_id", "weight", value=w.tags.unnest())
    for kind, table in (("category", w.select("profile_id", "weight", value=w.category)),
                        ("brand", w.select("profile_id", "weight", value=w.brand)),
                        ("product", w.select("profile_id", "weight", value=w.item_id)),
                        ("tag", tags)):
        rows = table.filter(table.value.notnull(), table.value != "(none)")
        scores = rows.group_by(["profile_id", "value"]).agg(score=rows.weight.sum())
        order = ibis.window(group_by=scores.profile_id,
                            order_by=[ibis.desc(scores.score), scores.value])
        ranked = scores.mutate(rank=ibis.row_number().over(order) + 1)
        parts.append(ranked.filter(ranked.rank <= top).select(
            "profile_id", kind=ibis.literal(kind, "string"), rank=ranked.rank.cast("int64"),
            value="value", score="score"))
    return ibis.union(*parts).order_by(["profile_id", "kind", "rank"])


def price_ranges(source: Source, *, profile_id: str | None = None) -> ir.Table:
    """Per person: ``price_low`` (25th percentile), ``price_median``, ``price_high`` (75th)
    and ``priced`` (how many priced interactions they rest on)."""
    require_events(source)
    w = _weighted(source, profile_id)
    w = w.filter(w.price.notnull())
    return w.group_by("profile_id").agg(
        price_low=w.price.quantile(0.25), price_median=w.price.median(),
        price_high=w.price.quantile(0.75), priced=w.count(),
    ).order_by("profile_id")
