"""MovieLens 100K demographics and ratings for the whole set, on both engines (real data).

The figures are the data set's own: 943 users, 670 men and 273 women, 196 students, 100,000
ratings (GroupLens README and u.user).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tailored.analytics import Source, crosstab, distribution, ratings, retention
from tailored.ingest import Ingestor
from tailored.ingest.sources.movielens import read_movielens
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tests.analytics.conftest import BACKEND_PARAMS, open_on
from tests.conftest import dataset

pytestmark = pytest.mark.dataset


def rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


@pytest.fixture(scope="module")
def ml_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = dataset("ml-100k")
    work = tmp_path_factory.mktemp("ml100k")
    store = Store.open(f"sqlite:///{work / 'store.db'}")
    try:
        report = Ingestor(store).ingest(read_movielens(folder))
        assert not report.rejected
        export_snapshot(store, work / "snapshot")
    finally:
        store.close()
    return work / "snapshot"


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def ml(request: pytest.FixtureRequest, ml_snapshot: Path) -> Iterator[Source]:
    yield from open_on(request, ml_snapshot)


def test_gender_and_occupation_distributions(ml: Source) -> None:
    gender = {r["value"]: r["people"] for r in rows(distribution(ml, "gender"))}
    assert gender == {"M": 670, "F": 273}
    occupation = rows(distribution(ml, "occupation"))
    assert (occupation[0]["value"], occupation[0]["people"]) == ("student", 196)
    assert sum(r["people"] for r in occupation) == 943 and len(occupation) == 21


def test_age_bands_cover_everyone_and_ratings_add_up(ml: Source) -> None:
    bands = {r["value"]: r for r in rows(crosstab(ml, "age"))}
    assert set(bands) == {"under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"}
    assert sum(r["people"] for r in bands.values()) == 943
    assert sum(r["raters"] for r in bands.values()) == 943  # everyone rated 20 or more
    by_age = rows(ratings(ml, by="age"))
    assert sum(r["ratings"] for r in by_age) == 100_000
    total = sum(r["ratings"] * r["avg_rating"] for r in by_age) / 100_000
    assert total == pytest.approx(3.52986, abs=1e-5)  # the mean of u.data's ratings


def test_monthly_retention_starts_at_everyone(ml: Source) -> None:
    first = [r for r in rows(retention(ml, period="month")) if r["period"] == 0]
    assert sum(r["size"] for r in first) == 943
