"""``tailored segment cluster``: portraits in JSON, clusters stored as segments, bad k."""

from __future__ import annotations

from typing import Any

import pytest

from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.segments.membership import current_members, segment_sizes
from tailored.store import Store
from tests.analytics.test_features import ITEMS
from tests.segments.test_clustering import _people
from tests.segments.test_rfm_cli import data_of, invoke


@pytest.fixture
def people(store: Store, store_url: str) -> str:
    store.upsert_items(ITEMS)
    assert not Ingestor(store).ingest_events(_people(12)).rejected
    return store_url


def test_cluster_json_portrays_and_saves_clusters(people: str, store: Store) -> None:
    data = data_of(invoke(people, "cluster", "--max-k", "4", "--save", "--json"))
    assert data["customers"] == 12 and data["k"] == 2
    assert set(data["silhouette"]) == {"2", "3", "4"}
    assert [c["size"] for c in data["clusters"]] == [6, 6]
    assert all(c["summary"].startswith(f"Cluster {c['cluster']} (6 customers, 50%)")
               for c in data["clusters"])
    assert data["saved"]["segments"] == ["cluster:0", "cluster:1"]
    assert len(current_members(store, "cluster:0")) == 6
    # A later run with fewer clusters empties the clusters that are gone.
    data_of(invoke(people, "cluster", "--k", "3", "--save", "--json"))
    data_of(invoke(people, "cluster", "--k", "2", "--save", "--json"))
    assert segment_sizes(store)["cluster:2"] == 0


@pytest.mark.parametrize("args", [["--k", "1"], ["--k", "40"], ["--max-k", "1"],
                                  ["--features", "mood"]])
def test_cluster_bad_settings_are_refused(people: str, args: list[str]) -> None:
    result: Any = invoke(people, "cluster", *args, "--json")
    assert result.exit_code == 1
    assert isinstance(result.exception, InvalidInput)


def test_cluster_shows_silhouette_as_a_table_not_a_dict(people: str) -> None:
    r = invoke(people, "cluster", "--max-k", "4")
    assert r.exit_code == 0, r.output
    assert "{'2'" not in r.stdout and "silhouette by k:" not in r.stdout
    rows = [line for line in r.stdout.splitlines() if line.strip().startswith("│ 2")]
    assert rows and "chosen" in rows[0]
    assert "once every" not in r.stdout and "0.0×" not in r.stdout
