"""The peers' side of "customers are people": the same customers and orders as Tailored's,
read in plain pandas from a snapshot's Parquet files.

Customers are profiles with a user id or an e-mail identity; an order is an Order Completed
event worth its revenue, total or value (else the sum of its lines), as in
``tailored.analytics.customers`` and ``tailored.analytics.orders``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd

from tailored.events import ORDER_EVENTS, order_value
from tailored.store.snapshot_files import read_snapshot_table


def identified(folder: Path) -> set[str]:
    """The profile ids of the snapshot's customers."""
    profiles = pd.read_parquet(folder / "profiles.parquet", columns=["profile_id", "user_id"])
    ids = pd.read_parquet(folder / "identities.parquet", columns=["kind", "profile_id"])
    return set(profiles.loc[profiles.user_id.notna(), "profile_id"]) | set(
        ids.loc[ids.kind == "email", "profile_id"])


def orders(folder: Path, as_of: datetime | None = None) -> pd.DataFrame:
    """One row per order up to ``as_of`` (inclusive): profile_id, timestamp, value."""
    ev = read_snapshot_table(folder, "events", columns=[
        "profile_id", "type", "event", "timestamp", "properties", "message_id"]).to_pandas()
    ev = ev[(ev.type == "track") & ev.event.isin(ORDER_EVENTS) & ev.profile_id.notna()]
    if as_of is not None:
        ev = ev[ev.timestamp <= as_of]
    ix = read_snapshot_table(folder, "interactions",
                             columns=["signal", "value", "message_id"]).to_pandas()
    lines = ix[ix.signal == "order"].groupby("message_id")["value"].apply(list)
    values = [order_value(json.loads(p), lines.get(m, []))
              for p, m in zip(ev.properties, ev.message_id, strict=True)]
    return ev.assign(value=values)[["profile_id", "timestamp", "value"]]
