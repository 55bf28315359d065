"""Hand-made stores for the prediction tests, and the analytics engine to run them on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.snapshots import export_snapshot

DAY0 = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)  # a Monday


def at(days: float) -> str:
    return (DAY0 + timedelta(days=days)).isoformat()


def order(user: str, days: float, n: int, value: float) -> dict[str, Any]:
    """An order of one product line worth ``value``, ``days`` after DAY0."""
    return {"type": "track", "userId": user, "event": "Order Completed",
            "timestamp": at(days), "messageId": f"{user}-o{n}",
            "properties": {"order_id": f"{user}-{n}",
                           "products": [{"product_id": "sku", "quantity": 1, "price": value}]}}


def view(user: str, days: float, n: int) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": "Product Viewed", "timestamp": at(days),
            "messageId": f"{user}-v{n}", "properties": {"product_id": "sku"}}


def build_store(url: str, events: list[dict[str, Any]]) -> None:
    with Store.open(url) as store:
        report = Ingestor(store).ingest_events(events)
        assert not report.rejected, report.rejected


def build_snapshot(tmp_path: Path, name: str, events: list[dict[str, Any]]) -> Path:
    url = f"sqlite:///{tmp_path / name}.db"
    build_store(url, events)
    with Store.open(url) as store:
        export_snapshot(store, tmp_path / name)
    return tmp_path / name


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_url")
    return "duckdb", None


def simulate_bgnbd(n: int, *, r: float, alpha: float, a: float, b: float, seed: int = 7
                   ) -> pd.DataFrame:
    """BTYD summaries drawn from a BG/NBD population with known parameters: each customer
    buys at a Poisson rate and may leave after each purchase."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rate, leave = rng.gamma(r, 1 / alpha), rng.beta(a, b)
        horizon = float(rng.uniform(20, 40))
        t, times = 0.0, []
        while True:
            t += rng.exponential(1 / rate) if rate > 0 else np.inf
            if t > horizon:
                break
            times.append(t)
            if rng.random() < leave:
                break
        rows.append({"customer_id": i, "frequency": len(times),
                     "recency": times[-1] if times else 0.0, "T": horizon,
                     "monetary_value": float(rng.gamma(6, 4)) if times else 0.0})
    return pd.DataFrame(rows)
