"""RFM of the real CDNOW sample (2,357 customers), checked against the raw file scored
independently in pandas with the documented rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tailored.analytics import opened
from tailored.ingest import Ingestor
from tailored.ingest.sources.cdnow import read_cdnow
from tailored.segments.rfm import RFM_GRID, compute_rfm
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tests.conftest import dataset

pytestmark = pytest.mark.dataset


def _expected(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, sep=r"\s+", header=None,
                      names=["id", "sample_id", "date", "cds", "value"], dtype={"id": str})
    raw["when"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    as_of = raw["when"].max()
    g = raw.groupby(raw["id"].str.lstrip("0"))
    df = pd.DataFrame({"frequency": g.size(), "monetary": g["value"].sum().round(2),
                       "recency_days": (as_of - g["when"].max()).dt.days.astype(float)})
    n = len(df)

    def score(values: pd.Series, ascending: bool) -> np.ndarray:
        rank = values.rank(method="min", ascending=ascending).to_numpy() - 1
        return (rank * 5 // n + 1).astype(int)

    r, f = score(df.recency_days, False), score(df.frequency, True)
    m = score(df.monetary, True)
    fm = np.floor((f + m) / 2 + 0.5).astype(int)
    df["group"] = np.array(RFM_GRID, dtype=object)[r - 1, fm - 1]
    return df


def test_rfm_of_the_cdnow_sample_matches_an_independent_count(tmp_path: Path) -> None:
    path = dataset("cdnow", "CDNOW_sample.txt.gz")
    store = Store.open(f"sqlite:///{tmp_path / 'cdnow.db'}")
    try:
        report = Ingestor(store).ingest(read_cdnow(path))
        assert not report.rejected
        export_snapshot(store, tmp_path / "snap")
    finally:
        store.close()
    with opened(tmp_path / "snap") as source:
        users = source.profiles.select("profile_id", "user_id").execute()
        result = compute_rfm(source)
    ours = result.customers.merge(users, on="profile_id").set_index("user_id")
    expected = _expected(path)
    assert len(ours) == len(expected) == 2357
    joined = ours.join(expected, rsuffix="_raw")
    assert (joined.frequency == joined.frequency_raw).all()
    assert np.allclose(joined.monetary, joined.monetary_raw)
    assert (joined.group == joined.group_raw).all()
    means = ours.groupby("group")["monetary"].mean()
    assert means["Champions"] > 5 * means["Lost"]
