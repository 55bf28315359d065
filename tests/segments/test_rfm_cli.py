"""``tailored segment rfm``: the JSON contract, groups stored as segments and traits, the
same figures on both engines, and one clear line without orders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.ingest import Ingestor
from tailored.segments.membership import current_members
from tailored.segments.rfm import RFM_GROUPS
from tailored.store import Store
from tests.analytics.test_features import ITEMS, track
from tests.cli.test_cli import run
from tests.segments.test_rfm import _events


def invoke(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", url, "segment", *args])


def data_of(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return json.loads(result.stdout)


@pytest.fixture
def buyers(store: Store, store_url: str) -> str:
    store.upsert_items(ITEMS)
    assert not Ingestor(store).ingest_events(_events()).rejected
    return store_url


def test_rfm_json_has_the_contract_and_stores_groups(buyers: str, store: Store) -> None:
    data = data_of(invoke(buyers, "rfm", "--as-of", "2026-09-09T12:00:00+00:00", "--json"))
    assert data["customers"] == 10
    assert list(data["groups"]) == list(RFM_GROUPS)
    assert sum(data["groups"].values()) == 10
    assert data["seconds"] > 0 and set(data["timings"]) == {"source", "rfm", "save"}
    assert data["groups"]["Champions"] == 2 and data["groups"]["Lost"] == 2
    champions = sorted(store.find_profile(u) for u in ("b8", "b9"))
    assert current_members(store, "rfm:Champions") == champions
    traits = store.profile("b9")["traits"]
    assert traits["rfm_group"] == "Champions" and traits["rfm_score"] == "555"
    assert data["saved"]["traits_written"] == 10
    assert len(data["saved"]["segments"]) == len(RFM_GROUPS)


@pytest.mark.postgres
def test_rfm_on_postgres_matches_duckdb(buyers: str, store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("the postgres backend reads the PostgreSQL store")
    duck = data_of(invoke(buyers, "rfm", "--no-save", "--json"))
    pg = data_of(invoke(buyers, "rfm", "--no-save", "--backend", "postgres", "--json"))
    assert pg["groups"] == duck["groups"] and pg["thresholds"] == duck["thresholds"]


def test_rfm_renders_a_table(buyers: str) -> None:
    result = invoke(buyers, "rfm", "--no-save")
    assert result.exit_code == 0, result.output
    assert "Champions" in result.stdout and "Can't Lose Them" in result.stdout


def test_rfm_without_orders_is_one_clear_line(sqlite_store: Store, tmp_path: Path) -> None:
    assert not Ingestor(sqlite_store).ingest_events(
        [track("ann", "Product Viewed", 1, 1, product_id="sku1")]).rejected
    result = run(["--db", sqlite_store.url, "segment", "rfm", "--json"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: RFM needs orders")
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_rfm_bad_as_of_names_the_option(tmp_path: Path) -> None:
    result = run(["--db", f"sqlite:///{tmp_path / 'x.db'}", "segment", "rfm", "--as-of",
                  "last tuesday", "--json"], tmp_path)
    assert result.returncode == 1
    assert "--as-of must be an ISO date" in result.stderr
