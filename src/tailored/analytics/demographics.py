"""Who the customers are: the distribution of any trait, and behaviour per trait value.

Traits are read from profiles (``age`` is shown as a band: 18-24, 25-34, ...; a person
without the trait counts under "(unknown)"). Behaviour per value: how many people bought
(``conversion``), what they ordered and spent, and how they rated.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tailored.analytics.checks import require_events
from tailored.analytics.groups import trait_values
from tailored.analytics.orders import orders
from tailored.analytics.source import Source

__all__ = ["crosstab", "distribution"]


def distribution(source: Source, trait: str) -> ir.Table:
    """Per ``value`` of the trait: ``people`` and ``share`` of all profiles, largest first."""
    require_events(source)
    v = trait_values(source, trait)
    counts = v.group_by("value").agg(people=v.count())
    total = counts.people.sum().over(ibis.window()).cast("float64")
    out = counts.mutate(share=counts.people.cast("float64") / total)
    return out.order_by([ibis.desc("people"), "value"])


def crosstab(source: Source, trait: str) -> ir.Table:
    """Per ``value`` of the trait: ``people``, ``buyers``, ``conversion`` (buyers / people),
    ``orders``, ``orders_per_buyer``, ``revenue``, ``revenue_per_person``, ``raters`` and
    ``avg_rating`` (over ratings and reviews with a rating), ``events_per_person``."""
    require_events(source)
    v = trait_values(source, trait)
    ix = source.interactions
    has_rating = ix.rating.notnull()
    rated = ix.group_by("profile_id").agg(
        rating_sum=ix.rating.sum(where=has_rating), ratings=has_rating.sum().cast("int64"))
    od = orders(source)
    bought = od.group_by("profile_id").agg(orders=od.count(), revenue=od.value.sum())
    e = source.events
    events = e.group_by("profile_id").agg(events=e.count())
    j = v.left_join(rated, v.profile_id == rated.profile_id)
    j = j.left_join(bought, j.profile_id == bought.profile_id)
    j = j.left_join(events, j.profile_id == events.profile_id)
    j = j.select("value", orders=j.orders.fill_null(0), revenue=j.revenue.fill_null(0.0),
                 rating_sum=j.rating_sum.fill_null(0.0), ratings=j.ratings.fill_null(0),
                 events=j.events.fill_null(0))
    g = j.group_by("value").agg(
        people=j.count(), buyers=(j.orders > 0).sum().cast("int64"),
        orders=j.orders.sum().cast("int64"), revenue=j.revenue.sum(),
        raters=(j.ratings > 0).sum().cast("int64"), ratings=j.ratings.sum().cast("int64"),
        rating_sum=j.rating_sum.sum(), events=j.events.sum().cast("int64"))
    people = g.people.cast("float64")
    return g.select(
        "value", "people", "buyers", conversion=g.buyers.cast("float64") / people,
        orders=g.orders,
        orders_per_buyer=ibis.cases((g.buyers > 0, g.orders.cast("float64") / g.buyers)),
        revenue=g.revenue, revenue_per_person=g.revenue / people, raters=g.raters,
        avg_rating=ibis.cases((g.ratings > 0, g.rating_sum / g.ratings.cast("float64"))),
        events_per_person=g.events.cast("float64") / people,
    ).order_by([ibis.desc("people"), "value"])
