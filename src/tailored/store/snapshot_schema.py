"""The tables of a snapshot: their Arrow schemas, and the interactions one event holds.

Events (an order's value beside it, read once here rather than from its JSON at every
query), interactions (one row per person × item × event, with products of an order on rows
of their own), profiles, identities, items, edges and current segment members.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from tailored.events import ORDER_EVENTS, order_value, signal_of

__all__ = ["SCHEMAS", "SNAPSHOT_TABLES", "event_order_value", "interaction_rows"]

_TS = pa.timestamp("us", tz="UTC")
_JSON = pa.string()  # nested documents as JSON text: every engine reads it

SCHEMAS: dict[str, pa.Schema] = {
    "events": pa.schema([
        ("message_id", pa.string()), ("type", pa.string()), ("event", pa.string()),
        ("name", pa.string()), ("profile_id", pa.string()), ("user_id", pa.string()),
        ("anonymous_id", pa.string()), ("device_id", pa.string()), ("platform", pa.string()),
        ("timestamp", _TS), ("received_at", _TS), ("context", _JSON), ("properties", _JSON),
        ("traits", _JSON),
        # An order's value (tailored.events.order_value); NULL for every other event.
        ("order_value", pa.float64()),
    ]),
    "interactions": pa.schema([
        ("profile_id", pa.string()), ("item_id", pa.string()), ("event", pa.string()),
        ("signal", pa.string()), ("timestamp", _TS), ("rating", pa.float64()),
        ("quantity", pa.float64()), ("price", pa.float64()), ("value", pa.float64()),
        ("platform", pa.string()), ("message_id", pa.string()),
    ]),
    "profiles": pa.schema([
        ("profile_id", pa.string()), ("user_id", pa.string()), ("traits", _JSON),
        ("first_seen", _TS), ("last_seen", _TS), ("created_at", _TS),
    ]),
    "identities": pa.schema([
        ("kind", pa.string()), ("value", pa.string()), ("profile_id", pa.string()),
        ("first_seen", _TS), ("linked_at", _TS),
    ]),
    "items": pa.schema([
        ("item_id", pa.string()), ("title", pa.string()), ("description", pa.string()),
        ("category", pa.list_(pa.string())), ("brand", pa.string()), ("price", pa.float64()),
        ("currency", pa.string()), ("tags", pa.list_(pa.string())), ("attributes", _JSON),
        ("image_url", pa.string()), ("available", pa.bool_()), ("updated_at", _TS),
    ]),
    "edges": pa.schema([
        ("src", pa.string()), ("dst", pa.string()), ("src_profile", pa.string()),
        ("dst_profile", pa.string()), ("kind", pa.string()), ("weight", pa.float64()),
    ]),
    # Current segment members (canonical profile ids), so analytics can group by segment.
    "segment_members": pa.schema([("profile_id", pa.string()), ("segment", pa.string())]),
}
SNAPSHOT_TABLES = tuple(SCHEMAS)


def _num(v: Any) -> float | None:
    try:
        return None if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return None


def interaction_rows(row: Any) -> Iterator[dict[str, Any]]:
    """The person-item interactions one track event holds."""
    props = row.properties or {}
    signal = signal_of(row.event)
    base = {"profile_id": row.profile_id, "event": row.event,
            "signal": signal.value if signal else None, "timestamp": row.timestamp,
            "platform": row.platform, "message_id": row.message_id}
    products = props.get("products")
    if isinstance(products, list) and products and row.event != "Product List Viewed":
        for p in products:
            if isinstance(p, dict) and p.get("product_id") is not None:
                q: float = _num(p.get("quantity")) or 1.0
                price = _num(p.get("price"))
                yield {**base, "item_id": str(p["product_id"]), "rating": None, "quantity": q,
                       "price": price, "value": q * price if price is not None else None}
        return
    if props.get("product_id") is not None:
        quantity, price = _num(props.get("quantity")), _num(props.get("price"))
        value = _num(props.get("value"))
        if value is None and price is not None:
            value = (quantity or 1.0) * price
        yield {**base, "item_id": str(props["product_id"]), "rating": _num(props.get("rating")),
               "quantity": quantity, "price": price, "value": value}


def event_order_value(row: Any, lines: list[dict[str, Any]]) -> float | None:
    """The value of an order event (``row`` with ``type``, ``event`` and ``properties``;
    ``lines`` its interaction rows); None for any other event."""
    if row.type != "track" or row.event not in ORDER_EVENTS:
        return None
    return order_value(row.properties or {}, (x["value"] for x in lines))
