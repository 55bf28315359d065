"""Recording catalogue changes that campaigns can be triggered by, as items are upserted:
an item available again after it was not (``back_in_stock``), or priced lower than it was
(``price_drop``). A new item is neither."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tailored.store.tables import item_changes, items

__all__ = ["BACK_IN_STOCK", "PRICE_DROP", "record_item_changes"]

BACK_IN_STOCK = "back_in_stock"
PRICE_DROP = "price_drop"


def record_item_changes(conn: sa.Connection, rows: Sequence[dict[str, Any]], now: datetime
                        ) -> int:
    """Compare the rows about to be upserted with what is stored; record the changes."""
    ids = [r["item_id"] for r in rows]
    before: dict[str, Any] = {}
    for i in range(0, len(ids), 900):
        for row in conn.execute(sa.select(items.c.item_id, items.c.price, items.c.available)
                                .where(items.c.item_id.in_(ids[i:i + 900]))):
            before[row.item_id] = row
    changes = []
    for r in rows:
        old = before.get(r["item_id"])
        if old is None:
            continue
        if r.get("available") and not old.available:
            changes.append({"item_id": r["item_id"], "kind": BACK_IN_STOCK,
                            "old_price": old.price, "new_price": r.get("price"), "at": now})
        elif r.get("price") is not None and old.price is not None \
                and r["price"] < old.price and r.get("available", True):
            changes.append({"item_id": r["item_id"], "kind": PRICE_DROP,
                            "old_price": old.price, "new_price": r["price"], "at": now})
    if changes:
        conn.execute(item_changes.insert(), changes)
    return len(changes)
