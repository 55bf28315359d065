"""A snapshot folder is brought up to date, not rewritten: reused while the store is
unchanged, extended with new events, rebuilt where a merge, an erasure or a purge changed
history — on SQLite and PostgreSQL. Every refreshed snapshot must hold exactly what a full
export of the same store holds."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.changes import history_mark, mark_all_history_changed
from tailored.store.snapshot_files import read_snapshot_table, table_files
from tailored.store.snapshots import export_snapshot

DAY1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_ids = iter(range(1_000_000))


def ev(*, day: int = 0, kind: str = "track", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "messageId": f"s{next(_ids)}",
                            "timestamp": (DAY1 + timedelta(days=day)).isoformat()}
    if kind == "track":
        body.update(event="Order Completed", properties={
            "order_id": f"o{body['messageId']}",
            "products": [{"product_id": "p1", "quantity": 1, "price": 5.0}]})
    body.update(fields)
    return body


def ingest(store: Store, *raws: dict[str, Any]) -> Any:
    report = Ingestor(store, chunk_size=500).ingest_events(raws)
    assert not report.rejected, report.rejected
    return report


def files_and_times(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


def rows(folder: Path, name: str) -> list[tuple[Any, ...]]:
    table = read_snapshot_table(folder, name).to_pylist()
    return sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in table)


def assert_same_as_full_export(store: Store, folder: Path, tmp_path: Path) -> None:
    fresh = tmp_path / f"fresh-{next(_ids)}"
    export_snapshot(store, fresh)
    for name in ("events", "interactions", "profiles", "identities", "items", "edges",
                 "segment_members"):
        assert rows(folder, name) == rows(fresh, name), name


@pytest.fixture
def shop(store: Store) -> Store:
    ingest(store, *(ev(userId=f"u{n % 3}", day=n % 4) for n in range(12)),
           ev(anonymousId="anon-1", day=1), ev(anonymousId="anon-1", day=2))
    return store


def test_refresh_reuses_every_file_when_the_store_is_unchanged(shop: Store, tmp_path: Path
                                                               ) -> None:
    folder = tmp_path / "snap"
    first = export_snapshot(shop, folder)
    assert first["refresh"]["mode"] == "full"
    before = files_and_times(folder)
    assert any(name.startswith("events/day=2026-03-02/") for name in before)
    again = export_snapshot(shop, folder)
    assert again["refresh"]["mode"] == "reused"
    assert again["tables"] == first["tables"]
    assert files_and_times(folder) == before  # nothing rewritten, not even the manifest


def test_new_events_are_appended_to_their_days_leaving_old_parts(shop: Store, tmp_path: Path
                                                                 ) -> None:
    folder = tmp_path / "snap"
    export_snapshot(shop, folder)
    before = files_and_times(folder)
    ingest(shop, ev(userId="u1", day=1), ev(userId="u9", day=10), ev(userId="u9", day=10))
    refreshed = export_snapshot(shop, folder)
    assert refreshed["refresh"]["mode"] == "incremental"
    assert refreshed["refresh"]["events_appended"] == 3
    assert refreshed["refresh"]["days_rebuilt"] == 0
    after = files_and_times(folder)
    old_parts = {n: t for n, t in before.items() if n.startswith(("events/", "interactions/"))}
    assert all(after.get(n) == t for n, t in old_parts.items())  # untouched
    new_parts = set(after) - set(before)
    assert {n.split("/")[1] for n in new_parts if n.startswith("events/")} == {
        "day=2026-03-02", "day=2026-03-11"}
    assert refreshed["tables"]["events"] == 17
    assert_same_as_full_export(shop, folder, tmp_path)


def test_a_merge_rebuilds_the_days_the_moved_history_lay_on(shop: Store, tmp_path: Path
                                                            ) -> None:
    folder = tmp_path / "snap"
    export_snapshot(shop, folder)
    anon = shop.find_profile("anon-1")
    mark = _mark(shop)
    report = ingest(shop, ev(kind="identify", userId="u1", anonymousId="anon-1", day=3))
    assert report.merges == 1
    assert _mark(shop) > mark  # the merge moved the marker in its own transaction
    refreshed = export_snapshot(shop, folder)
    assert refreshed["refresh"]["mode"] == "incremental"
    assert refreshed["refresh"]["days_rebuilt"] == 2  # the anonymous events' two days
    owners = {r["profile_id"] for r in read_snapshot_table(folder, "events").to_pylist()}
    assert anon not in owners and shop.find_profile("u1") in owners
    assert_same_as_full_export(shop, folder, tmp_path)


def test_an_erased_person_is_gone_from_the_refreshed_snapshot(shop: Store, tmp_path: Path
                                                              ) -> None:
    folder = tmp_path / "snap"
    export_snapshot(shop, folder)
    gone = shop.find_profile("u2")
    mark = _mark(shop)
    shop.erase_person("u2")
    assert _mark(shop) > mark
    refreshed = export_snapshot(shop, folder)
    assert refreshed["refresh"]["mode"] == "incremental"
    assert refreshed["refresh"]["days_rebuilt"] >= 1
    for name in ("events", "interactions", "profiles", "identities"):
        held = {r["profile_id"] for r in read_snapshot_table(folder, name).to_pylist()}
        assert gone not in held, name
    assert refreshed["tables"]["events"] == 10
    assert_same_as_full_export(shop, folder, tmp_path)


def test_a_purge_mark_rebuilds_everything(shop: Store, tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    export_snapshot(shop, folder)
    with shop.transaction() as conn:
        mark_all_history_changed(conn)
    assert export_snapshot(shop, folder)["refresh"]["mode"] == "full"


def test_a_day_emptied_by_an_erasure_loses_its_partition(store: Store, tmp_path: Path) -> None:
    ingest(store, ev(userId="a", day=0), ev(userId="b", day=5))
    folder = tmp_path / "snap"
    export_snapshot(store, folder)
    store.erase_person("b")
    export_snapshot(store, folder)
    days = {p.parent.name for p in table_files(folder, "events")}
    assert days == {"day=2026-03-01"}


def test_a_snapshot_of_another_store_or_an_interrupted_refresh_is_rebuilt(
        shop: Store, tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    export_snapshot(shop, folder)
    (folder / "manifest.json").unlink()  # as a refresh killed half way leaves it
    assert export_snapshot(shop, folder)["refresh"]["mode"] == "full"
    other = Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        ingest(other, ev(userId="x"))
        refreshed = export_snapshot(other, folder)
        assert refreshed["refresh"]["mode"] == "full"
        assert refreshed["refresh"]["reason"] == "a snapshot of another store"
        assert refreshed["tables"]["events"] == 1
    finally:
        other.close()


def test_new_traits_rewrite_only_the_side_tables(shop: Store, tmp_path: Path) -> None:
    from tailored.store.traits import write_traits

    folder = tmp_path / "snap"
    export_snapshot(shop, folder)
    before = files_and_times(folder)
    write_traits(shop, {shop.find_profile("u1"): {"rfm_group": "Champions"}})
    refreshed = export_snapshot(shop, folder)
    assert "profiles" in refreshed["refresh"]["tables_rewritten"]
    after = files_and_times(folder)
    assert all(after[n] == t for n, t in before.items() if n.startswith("events/"))
    assert after["profiles.parquet"] != before["profiles.parquet"]
    assert_same_as_full_export(shop, folder, tmp_path)


def test_many_small_appends_are_joined_into_one_part_per_day(store: Store, tmp_path: Path
                                                             ) -> None:
    folder = tmp_path / "snap"
    ingest(store, ev(userId="a"))
    export_snapshot(store, folder)
    for _ in range(20):
        ingest(store, ev(userId="a"))
        export_snapshot(store, folder)
    parts = list((folder / "events" / "day=2026-03-01").glob("*.parquet"))
    assert 1 <= len(parts) <= 17
    assert read_snapshot_table(folder, "events").num_rows == 21
    assert_same_as_full_export(store, folder, tmp_path)


def _mark(store: Store) -> int:
    with store.reading() as conn:
        return history_mark(conn)


def test_the_files_are_a_hive_layout_that_pyarrow_reads_with_the_day(shop: Store,
                                                                     tmp_path: Path) -> None:
    import pyarrow.dataset as ds

    folder = tmp_path / "snap"
    export_snapshot(shop, folder)
    data = ds.dataset(folder / "events", format="parquet", partitioning="hive").to_table()
    assert sorted(set(data["day"].to_pylist())) == [
        "2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert os.path.isdir(folder / "interactions" / "day=2026-03-01")


def test_segment_rfm_keeps_the_stores_snapshot_and_reuses_it(
        shop: Store, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from tailored.cli.app import app
    from tailored.config import Settings

    if store_url.startswith("sqlite"):
        # The default: beside the SQLite file.
        folder = Settings(database_url=store_url).store_snapshot_dir()
        assert folder == tmp_path / "store-snapshot"
    else:
        folder = tmp_path / "pg-snapshot"
        monkeypatch.setenv("TAILORED_SNAPSHOT_DIR", str(folder))
    runner = CliRunner()

    def rfm() -> dict[str, Any]:
        result = runner.invoke(app, ["--db", store_url, "segment", "rfm", "--no-save",
                                     "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    first = rfm()
    before = files_and_times(folder)
    assert any(n.startswith("events/day=") for n in before)
    assert rfm()["customers"] == first["customers"]
    assert files_and_times(folder) == before
    ingest(shop, ev(userId="u7", day=2))
    assert rfm()["customers"] == first["customers"] + 1


def test_an_alias_that_moves_anonymous_events_rebuilds_their_day(store: Store, tmp_path: Path
                                                                 ) -> None:
    ingest(store, ev(kind="identify", userId="v", anonymousId="shared", day=0),
           ev(anonymousId="shared", day=1), ev(userId="v", day=2), ev(userId="u", day=3))
    folder = tmp_path / "snap"
    export_snapshot(store, folder)
    mark = _mark(store)
    ingest(store, ev(kind="alias", userId="u", previousId="shared", day=4))
    assert store.stats()["merges"] == 0 and _mark(store) > mark
    refreshed = export_snapshot(store, folder)
    assert refreshed["refresh"]["days_rebuilt"] == 1  # only the anonymous event's day
    assert_same_as_full_export(store, folder, tmp_path)


def _holders(folder: Path) -> set[str]:
    return {r["profile_id"] for name in ("events", "profiles", "identities")
            for r in read_snapshot_table(folder, name).to_pylist()}


def test_erase_from_the_cli_removes_the_person_from_the_kept_snapshot(
        shop: Store, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tailored.cli.app import app

    folder = tmp_path / "kept"
    monkeypatch.setenv("TAILORED_SNAPSHOT_DIR", str(folder))
    export_snapshot(shop, folder)
    gone = shop.find_profile("u2")
    assert gone in _holders(folder)
    result = CliRunner().invoke(app, ["--db", store_url, "erase", "u2", "--yes", "--json"])
    assert result.exit_code == 0, result.output
    assert gone not in _holders(folder)  # at once, not at the next analytics run


def test_erase_through_the_api_removes_the_person_from_the_kept_snapshot(
        shop: Store, store_url: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tailored.api.app import create_app
    from tailored.config import Settings

    folder = tmp_path / "kept"
    export_snapshot(shop, folder)
    gone = shop.find_profile("u1")
    admin = shop.create_key("admin")
    app = create_app(Settings(database_url=store_url, snapshot_dir=folder), store=shop)
    with TestClient(app) as client:
        r = client.delete("/v1/profiles/u1", headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200, r.text
    assert gone not in _holders(folder)
