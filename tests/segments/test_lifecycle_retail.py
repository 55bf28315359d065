"""Lifecycle segments for every customer of the real Online Retail II year."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailored.analytics import customer_features, keep_customers, opened
from tailored.ingest import Ingestor
from tailored.ingest.sources.online_retail import read_online_retail
from tailored.segments import compute_lifecycle, current_members
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tests.conftest import dataset


@pytest.mark.dataset
def test_lifecycle_on_online_retail(tmp_path: Path) -> None:
    path = dataset("online-retail-ii", "online_retail_II.parquet")
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        report = Ingestor(store).ingest(read_online_retail(path))
        # Orders and refunds (less the write-offs and stock adjustments it leaves out) and
        # one identify per customer; nothing refused.
        assert report.accepted == 28_816 - 3 - 3_268 + 4_383
        assert report.rejected == []
        export_snapshot(store, tmp_path / "snap")
        with opened(tmp_path / "snap") as source:
            result = compute_lifecycle(store, source)
            kept, customers = keep_customers(source, customer_features(source))
            f = kept.execute()
            p = source.profiles.execute()
        sizes = result["sizes"]
        buyers = int((f.orders > 0).sum())
        members = {n: set(current_members(store, n)) for n in ("active", "at_risk", "churned",
                                                                "high_spend", "low_spend")}
    finally:
        store.close()
    # Customers are the 4,314 identified buyers; the
    # 1,958 guest invoices that are sales are left out, and the stock adjustments were never
    # imported: no lifecycle segment holds a profile without a customer id.
    assert buyers == 4_314
    assert result["excluded"] == {"anonymous": customers.excluded} and customers.excluded > 0
    anonymous = set(p.loc[p["user_id"].isna(), "profile_id"])
    assert all(not members[n] & anonymous for n in members)
    # A year of invoices: every lifecycle stage has people, and the stages of recency do not
    # overlap.
    assert all(sizes[n] > 0 for n in ("new", "active", "returning", "at_risk", "churned"))
    assert not members["active"] & members["at_risk"]
    assert not members["at_risk"] & members["churned"]
    # Percentile segments hold about a fifth of the buyers (ties at the threshold count in).
    assert 0.18 * buyers <= sizes["high_spend"] <= 0.25 * buyers
    assert not members["high_spend"] & members["low_spend"]
    # No income is known in this data: those segments are empty, with a note, not an error.
    assert sizes["high_income"] == sizes["low_income"] == 0
    assert "empty" in result["segments"]["high_income"]["note"]
