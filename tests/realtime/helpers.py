"""Random event streams with merges and late events, and the recount check."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tailored.realtime.live_profile import recount_profile
from tailored.store import Store
from tailored.store.tables import events, live_profiles

__all__ = ["live_vs_recount", "random_stream"]

T0 = datetime(2026, 11, 1, tzinfo=UTC)
_NAMES = ("Product Viewed", "Product Added", "Product Removed", "Order Completed", "Signed Up")


def random_stream(rng: random.Random, n: int, *, people: int = 8, start: int = 0
                  ) -> list[dict[str, Any]]:
    """``n`` Segment events over a few people: anonymous browsing, identifies that merge an
    anonymous id into a user, aliases, orders, carts, and times out of order."""
    out: list[dict[str, Any]] = []
    for i in range(start, start + n):
        person = rng.randrange(people)
        anon = f"anon-{person}-{rng.randrange(2)}"
        when = T0 + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        base: dict[str, Any] = {"messageId": f"m-{i}", "timestamp": when.isoformat(),
                                "context": {"device": {"type": rng.choice(["ios", "web"])}}}
        roll = rng.random()
        if roll < 0.12:
            out.append({**base, "type": "identify", "userId": f"user-{person}",
                        "anonymousId": anon, "traits": {"plan": "pro"}})
            continue
        if roll < 0.15:
            out.append({**base, "type": "alias", "userId": f"user-{person}",
                        "previousId": f"user-{rng.randrange(people)}"})
            continue
        ident = {"anonymousId": anon} if rng.random() < 0.6 else {"userId": f"user-{person}"}
        name = rng.choice(_NAMES)
        item = f"sku-{rng.randrange(5)}"
        props: dict[str, Any] = {}
        if name == "Order Completed":
            props = {"revenue": round(rng.uniform(1, 99), 2),
                     "products": [{"product_id": item, "quantity": rng.randrange(1, 3),
                                   "price": 10.5}]}
        elif name != "Signed Up":
            props = {"product_id": item, "quantity": rng.randrange(1, 3), "price": 3.25}
        if rng.random() < 0.1:
            base["context"]["library"] = {"name": "server"}
        out.append({**base, **ident, "type": "track", "event": name, "properties": props})
    return out


def live_vs_recount(store: Store) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every live row, and every person's recount from the events table."""
    with store.reading() as conn:
        live = dict(conn.execute(sa.select(live_profiles.c.profile_id,
                                           live_profiles.c.state)).all())
        people = list(conn.scalars(sa.select(events.c.profile_id).distinct()))
        recounted = {pid: recount_profile(conn, pid) for pid in people}
    return live, recounted
