"""Lifecycle segments on the demo shop: the same on DuckDB and PostgreSQL, each member meeting
its documented definition, and the one-person metrics equal to customer_features."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tailored.analytics import customer_features, keep_customers, opened
from tailored.analytics.features import resolve_as_of
from tailored.demo import ShopConfig, generate_shop, read_shop_records, write_shop
from tailored.ingest import Ingestor
from tailored.segments import (
    LIFECYCLE_SEGMENTS,
    compute_lifecycle,
    current_members,
    lifecycle_rules,
    load_person,
)
from tailored.store import Store
from tailored.store.snapshots import export_snapshot


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    folder = tmp_path_factory.mktemp("lifecycle")
    write_shop(generate_shop(ShopConfig(people=60, items=60, days=120, seed=11)),
               folder / "shop")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    assert not Ingestor(store).ingest(read_shop_records(folder / "shop")).rejected
    export_snapshot(store, folder / "snap")
    yield store, folder / "snap"
    store.close()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_url")
    return "duckdb", None


def test_lifecycle_members_meet_their_definitions(shop: Any,
                                                  backend: tuple[str, str | None]) -> None:
    store, snap = shop
    with opened(snap, backend[0], url=backend[1]) as source:
        result = compute_lifecycle(store, source)
        # Customers are identified people; the demo's anonymous browsers are left out.
        kept, customers = keep_customers(source, customer_features(source))
        f = kept.execute().set_index("profile_id")
    assert result["excluded"] == {"anonymous": customers.excluded} and customers.excluded > 0
    assert list(result["sizes"]) == list(LIFECYCLE_SEGMENTS)
    assert result["seconds"] > 0
    t = result["thresholds"]
    assert t["spend_high"] >= t["spend_low"] and t["freq_high"] >= t["freq_low"]
    members = {name: set(current_members(store, name)) for name in LIFECYCLE_SEGMENTS}
    assert {n: len(m) for n, m in members.items()} == result["sizes"]
    # Checked here against the metrics directly, not through the rule language.
    expected = {
        "new": f.tenure_days <= 30,
        "active": f.recency_days <= 30,
        "returning": (f.purchase_days >= 2) & (f.recency_days <= 90) & (f.tenure_days > 30),
        "at_risk": (f.orders >= 1) & (f.recency_days > 90) & (f.recency_days <= 180),
        "churned": f.recency_days > 180,
        "high_frequency": f.purchase_days >= max(2.0, t["freq_high"]),
        "low_frequency": (f.orders >= 1) & (f.purchase_days <= max(1.0, t["freq_low"])),
        "high_spend": (f.orders >= 1) & (f.revenue >= t["spend_high"]),
        "low_spend": (f.orders >= 1) & (f.revenue <= t["spend_low"]),
    }
    for name, mask in expected.items():
        assert members[name] == set(f.index[mask]), name
    assert result["sizes"]["active"] > 0 and result["sizes"]["high_spend"] > 0
    # The demo shop has income bands: both income segments have people, never the same.
    assert members["high_income"] and members["low_income"]
    assert not members["high_income"] & members["low_income"]


def test_lifecycle_is_the_same_on_both_engines(shop: Any, postgres_url: str) -> None:
    store, snap = shop
    sizes = {}
    for backend, url in (("duckdb", None), ("postgres", postgres_url)):
        with opened(snap, backend, url=url) as source:
            sizes[backend] = compute_lifecycle(store, source)["sizes"]
    assert sizes["duckdb"] == sizes["postgres"]


test_lifecycle_is_the_same_on_both_engines = pytest.mark.postgres(
    test_lifecycle_is_the_same_on_both_engines)


def test_one_person_metrics_equal_customer_features(shop: Any) -> None:
    store, snap = shop
    with opened(snap) as source:
        when, inclusive = resolve_as_of(source, None)
        f = customer_features(source).execute().set_index("profile_id")
    columns = ["orders", "purchase_days", "revenue", "avg_order_value", "events", "views",
               "carts", "distinct_items", "active_days", "recency_days", "tenure_days",
               "order_recency_days"]
    for pid, row in f.iterrows():
        _, view = load_person(store, str(pid), as_of=when, inclusive=inclusive)
        for c in columns:
            batch, alone = row[c], view.metrics[c]
            if pd.isna(batch):
                assert alone is None, (pid, c)
            else:
                assert alone == pytest.approx(float(batch), rel=1e-9, abs=1e-6), (pid, c)


def test_thresholds_without_buyers_or_income_leave_segments_empty() -> None:
    docs = lifecycle_rules({k: None for k in ("freq_high", "freq_low", "spend_high",
                                              "spend_low", "income_high", "income_low")})
    assert docs["high_spend"]["all"][1] == {"metric": "revenue", ">=": 1e300}
    assert docs["high_income"] == {"any": [{"trait": "income_band",
                                            "in": ["70-100k", "100k+"]}]}
    with_income = lifecycle_rules({"freq_high": 4, "freq_low": 1, "spend_high": 500,
                                   "spend_low": 20, "income_high": 80000,
                                   "income_low": 20000})
    assert {"trait": "income", ">=": 80000} in with_income["high_income"]["any"]


def _tables(source: Any) -> list[tuple[str, bool]]:
    """Every table the engine connection sees: (name, temporary)."""
    if source.backend == "postgres":
        sql = ("SELECT tablename, schemaname LIKE 'pg_temp%' FROM pg_tables "
               "WHERE schemaname = 'public' OR schemaname LIKE 'pg_temp%'")
    else:
        sql = "SELECT table_name, temporary FROM duckdb_tables()"
    cursor = source.con.raw_sql(sql)
    rows = [(str(n), bool(t)) for n, t in cursor.fetchall()]
    if source.backend == "postgres":
        cursor.close()
    return rows


def _run(source: Any, sql: str) -> None:
    cursor = source.con.raw_sql(sql)
    if source.backend == "postgres":
        cursor.close()


def test_lifecycle_drops_only_its_own_temporary_table(shop: Any,
                                                      backend: tuple[str, str | None]) -> None:
    """A real table named like a segment survives; the metrics table is gone afterwards."""
    store, snap = shop
    with opened(snap, backend[0], url=backend[1]) as source:
        _run(source, 'CREATE TABLE "low_income" (x integer)')
        try:
            compute_lifecycle(store, source)
            after = _tables(source)
            assert ("low_income", False) in after
            assert not [n for n, temporary in after if temporary], after
        finally:
            _run(source, 'DROP TABLE IF EXISTS "low_income"')


def test_temporary_tables_get_unique_names_and_drop_nothing_else(shop: Any) -> None:
    _, snap = shop
    with opened(snap) as source:
        _run(source, 'CREATE TABLE "tailored_x_0123456789ab" (x integer)')
        a, _ = source.temporary_table(source.profiles, "tailored_x")
        b, _ = source.temporary_table(source.profiles, "tailored_x")
        assert a != b
        source.drop_temporary(a)
        source.drop_temporary("tailored_x_0123456789ab")  # not temporary: left alone
        assert set(_tables(source)) == {(b, True), ("tailored_x_0123456789ab", False)}
        with pytest.raises(ValueError, match="temporary table"):
            source.drop_temporary('x"; DROP TABLE profiles; --')
