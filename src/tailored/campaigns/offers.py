"""Offers: a unique coupon code per person and campaign, made the first time their message
is rendered (``{{ coupon(days=14) }}`` in a template) and the same on every retry, with an
expiry; redeemed by an Order Completed carrying it (:mod:`tailored.store.coupons`)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tailored.errors import InvalidInput
from tailored.store.tables import coupons

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["CODE_ALPHABET", "coupon_for", "coupons_of"]

#: No 0/O, 1/I/L: codes are read off screens and typed.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def coupon_for(store: Store, campaign: str, profile_id: str, *, days: float = 14,
               now: datetime | None = None) -> str:
    """The person's code for this campaign (made now if they have none)."""
    if not isinstance(days, int | float) or not 0 < days <= 3650:
        raise InvalidInput(f"coupon(days=...): a number of days from 1 to 3650, got {days!r}",
                           field="coupon")
    now = now or datetime.now(UTC)
    with store.transaction() as conn:
        code = conn.scalar(sa.select(coupons.c.code).where(
            coupons.c.campaign == campaign, coupons.c.profile_id == profile_id))
        if code is not None:
            return str(code)
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        for _ in range(5):  # a clash among 31**10 codes is all but impossible; still
            stmt = dialect.insert(coupons).values(
                code=_new_code(), campaign=campaign, profile_id=profile_id, created_at=now,
                expires_at=now + timedelta(days=days)).on_conflict_do_nothing()
            conn.execute(stmt)
            code = conn.scalar(sa.select(coupons.c.code).where(
                coupons.c.campaign == campaign, coupons.c.profile_id == profile_id))
            if code is not None:
                return str(code)
    raise RuntimeError("could not make a unique coupon code")


def coupons_of(store: Store, campaign: str) -> dict[str, Any]:
    """How many codes a campaign gave out and how many were redeemed."""
    with store.reading() as conn:
        issued, redeemed = conn.execute(sa.select(
            sa.func.count(), sa.func.count(coupons.c.redeemed_at))
            .where(coupons.c.campaign == campaign)).one()
    return {"issued": int(issued), "redeemed": int(redeemed)}
