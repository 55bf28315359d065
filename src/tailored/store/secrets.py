"""Secrets the store keeps for itself (``store_secrets``), each made the first time it is
needed and never again: the key that signs links in messages, the VAPID key of web push."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tailored.store.tables import store_secrets

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["kept_secret"]


def kept_secret(store: Store, name: str, make: Callable[[], str]) -> str:
    """The secret ``name``, made with ``make()`` and kept the first time it is asked for."""
    with store.reading() as conn:
        value = conn.scalar(sa.select(store_secrets.c.value)
                            .where(store_secrets.c.name == name))
    if value is not None:
        return str(value)
    with store.transaction() as conn:
        # Another process may have made it meanwhile: the first one made stays (links
        # were signed, browsers subscribed with it).
        value = conn.scalar(sa.select(store_secrets.c.value)
                            .where(store_secrets.c.name == name))
        if value is None:
            value = make()
            conn.execute(store_secrets.insert().values(name=name, value=value,
                                                       created_at=datetime.now(UTC)))
    return str(value)
