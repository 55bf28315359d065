"""One person's data for the in-process path: read from the store, metrics computed in Python.

:func:`person_metrics` gives the columns of
:func:`tailored.analytics.features.customer_features` for one person from their events alone,
with the same definitions (a test holds the two to each other), so a rule over metrics reads
the same for one person as for everyone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from tailored.events.names import SEGMENT_EVENTS
from tailored.events.orders import ORDER_EVENTS, order_value
from tailored.segments.person import PersonEvent, PersonView
from tailored.store import Store
from tailored.store.snapshots import interaction_rows
from tailored.store.tables import events, profiles

__all__ = ["load_person", "person_metrics"]

_DAY = 86_400.0


def _before(t: datetime, as_of: datetime, inclusive: bool) -> bool:
    return t < as_of or (inclusive and t == as_of)


def person_metrics(person_events: Iterable[PersonEvent], *, as_of: datetime,
                   inclusive: bool = False) -> dict[str, float | None]:
    """The person's customer metrics at ``as_of`` ({} for a person without interactions or
    orders, as ``customer_features`` has no row for them)."""
    # Segment Entered/Exited are the system's doing, not activity (as in customer_features).
    seen = [e for e in person_events if _before(e.timestamp, as_of, inclusive)
            and e.event not in SEGMENT_EVENTS]
    lines: list[dict[str, Any]] = []
    orders: list[tuple[datetime, float | None]] = []
    for e in seen:
        if e.event is None:
            continue
        own = list(interaction_rows(SimpleNamespace(
            properties=dict(e.properties), event=e.event, profile_id=None,
            timestamp=e.timestamp, platform=e.platform, message_id=e.message_id)))
        lines += own
        if e.event in ORDER_EVENTS:
            orders.append((e.timestamp, order_value(
                e.properties, (ix["value"] for ix in own if ix["signal"] == "order"))))
    if not lines and not orders:
        return {}
    n_orders = len(orders)
    revenue = float(sum(v for _, v in orders if v is not None))
    at = as_of.timestamp()
    first = min(e.timestamp for e in seen)
    last = max(e.timestamp for e in seen)
    last_order = max((t for t, _ in orders), default=None)
    return {
        "orders": n_orders,
        "purchase_days": len({t.date() for t, _ in orders}),
        "revenue": revenue,
        "avg_order_value": revenue / n_orders if n_orders else 0.0,
        "events": len(seen),
        "views": sum(ix["signal"] == "view" for ix in lines),
        "carts": sum(ix["signal"] == "cart" for ix in lines),
        "distinct_items": len({ix["item_id"] for ix in lines}),
        "active_days": len({e.timestamp.date() for e in seen}),
        "recency_days": (at - last.timestamp()) / _DAY,
        "tenure_days": (at - first.timestamp()) / _DAY,
        "order_recency_days": None if last_order is None else (
            at - last_order.timestamp()) / _DAY,
    }


def load_person(store: Store, identifier: str, *, as_of: datetime,
                inclusive: bool = False) -> tuple[str, PersonView]:
    """A person (any of their ids) as a rule reads them: traits, events, metrics at
    ``as_of``. Returns the canonical profile id too."""
    with store.reading() as conn:
        pid = store.find_profile(identifier, conn)
        traits_doc = conn.scalar(sa.select(profiles.c.traits)
                                 .where(profiles.c.profile_id == pid)) or {}
        rows = conn.execute(
            sa.select(events.c.event, events.c.type, events.c.timestamp, events.c.platform,
                      events.c.properties, events.c.message_id)
            .where(events.c.profile_id == pid).order_by(events.c.timestamp)).all()
    history = [PersonEvent(timestamp=r.timestamp, event=r.event if r.type == "track" else None,
                           platform=r.platform, properties=r.properties or {},
                           message_id=r.message_id) for r in rows]
    traits: dict[str, Any] = store.personal.reveal_traits(traits_doc)
    return pid, PersonView(traits=traits, events=history,
                           metrics=person_metrics(history, as_of=as_of, inclusive=inclusive))
