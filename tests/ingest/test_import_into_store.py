"""Real data sets through the whole pipeline into a store (SQLite), counts as published."""

from __future__ import annotations

import pytest

from tailored.ingest import Ingestor
from tailored.ingest.sources.movielens import read_movielens
from tailored.ingest.sources.online_retail import read_online_retail
from tailored.ingest.sources.tabular import read_table
from tailored.store import Store
from tests.conftest import dataset

pytestmark = pytest.mark.dataset


def test_movielens_100k_lands_complete_and_reimport_adds_nothing(sqlite_store: Store) -> None:
    folder = dataset("ml-100k")
    first = Ingestor(sqlite_store).ingest(read_movielens(folder))
    stats = sqlite_store.stats()
    assert not first.rejected
    assert stats["events_by_type"]["Product Rated"] == 100_000
    assert (stats["profiles"], stats["items"], stats["merges"]) == (943, 1682, 0)
    again = Ingestor(sqlite_store).ingest(read_movielens(folder))
    assert again.accepted == 0 and again.duplicates == 100_943
    assert sqlite_store.stats()["events"] == stats["events"]
    person = sqlite_store.profile("1")
    assert person["traits"] == {"age": 24, "gender": "M", "occupation": "technician",
                                "zip": "85711"}
    assert person["event_count"] == 272 + 1  # ratings of user 1, and the identify


def test_online_retail_ii_orders_customers_and_anonymous_invoices(sqlite_store: Store) -> None:
    path = dataset("online-retail-ii", "online_retail_II.parquet")
    report = Ingestor(sqlite_store).ingest(read_online_retail(path))
    stats = sqlite_store.stats()
    # The three bad-debt write-offs ("A" invoices, negative prices) and the 3,268 stock
    # adjustments (guest invoices priced 0 throughout: damages, missing, written off) are left
    # out: not orders, and not errors either; the report counts them by kind.
    assert report.rejected == []
    left_out = report.to_dict()["left_out"]
    assert {k: v["records"] for k, v in left_out.items()} == {
        "stock_adjustment": 3_268, "bad_debt": 3}
    assert stats["events_by_type"]["Order Completed"] + stats["events_by_type"][
        "Order Refunded"] == 28_816 - 3 - 3_268
    assert stats["events_by_type"]["Order Refunded"] == 4_592
    assert stats["identified_profiles"] == 4_383
    # One per guest invoice that is a sale (the write-offs and adjustments were guest
    # invoices too).
    assert stats["profiles"] - stats["identified_profiles"] == 5_229 - 3 - 3_268
    assert sqlite_store.profile("12346")["traits"] == {"country": "United Kingdom"}


def test_lastfm_artists_plays_and_friendships_with_map(sqlite_store: Store) -> None:
    folder = dataset("hetrec2011-lastfm-2k")
    ingest = Ingestor(sqlite_store).ingest
    ingest(read_table(folder / "artists.dat.gz", fmt="csv", kind="items",
                      mapping={"item_id": "id", "title": "name", "image_url": "pictureURL"}))
    ingest(read_table(folder / "user_artists.dat.gz", fmt="csv", kind="events",
                      mapping={"user_id": "userID", "item_id": "artistID", "value": "weight"},
                      event_name="Artist Played", source_name="lastfm"))
    ingest(read_table(folder / "user_friends.dat.gz", fmt="csv", kind="edges", header=False,
                      columns=["userID", "friendID"],
                      mapping={"src": "userID", "dst": "friendID"}))
    stats = sqlite_store.stats()
    assert (stats["items"], stats["edges"], stats["profiles"]) == (17_632, 25_434, 1_892)
    assert stats["events_by_type"]["Artist Played"] == 92_834
