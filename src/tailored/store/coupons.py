"""Coupon redemptions: an Order Completed whose ``coupon`` property names a code we issued
redeems it, in ingestion's transaction (the campaign's report sees it at once). A code is
redeemed once, by the first order at or before its expiry; codes are matched without regard
to case or surrounding spaces (people type them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from tailored.store.tables import coupons

__all__ = ["normalise_code", "record_redemptions"]

ORDER_COMPLETED = "Order Completed"


def normalise_code(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 64:
        return None
    return value.strip().upper()


def record_redemptions(conn: sa.Connection, landed: Iterable[Any]) -> int:
    """Redeem the codes these validated events carry; how many were redeemed."""
    n = 0
    for v in landed:
        if getattr(v.event, "event", None) != ORDER_COMPLETED:
            continue
        code = normalise_code((getattr(v.event, "properties", None) or {}).get("coupon"))
        if code is None:
            continue
        n += conn.execute(coupons.update().where(
            coupons.c.code == code, coupons.c.redeemed_at.is_(None),
            sa.or_(coupons.c.expires_at.is_(None), coupons.c.expires_at >= v.timestamp))
            .values(redeemed_at=v.timestamp, order_message_id=v.message_id)).rowcount
    return n
