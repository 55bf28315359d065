"""Reading CDNOW purchases: both layouts, bad rows, and the real files into a store."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tailored.ingest import Ingestor
from tailored.ingest.sources.cdnow import CDNOW_ITEM, read_cdnow
from tailored.ingest.sources.records import SourceError, SourceRecord
from tailored.store import Store
from tests.conftest import dataset

MASTER = (" customer_id  date number_of_cds  dollar_value\r\n"
          " 00001 19970101  1   11.77\r\n"
          " 00002 19970112  1   12.00\r\n"
          " 00002 19970112  5   77.00\r\n"
          " 00003 19970102  1    0.00\r\n")
SAMPLE = (" 00002 0001 19970112  1   12.00\r\n"
          " 00002 0001 19970112  5   77.00\r\n")


def _write(path: Path, text: str, *, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def _events(records: list[SourceRecord | SourceError]) -> list[dict]:
    return [r.data for r in records if isinstance(r, SourceRecord) and r.kind == "event"]


def test_master_lines_become_orders_with_revenue_and_cds(tmp_path: Path) -> None:
    records = list(read_cdnow(_write(tmp_path / "CDNOW_master.txt", MASTER)))
    assert records[0].kind == "item" and records[0].data["item_id"] == CDNOW_ITEM
    orders = _events(records)
    assert [o["userId"] for o in orders] == ["1", "2", "2", "3"]
    assert all(o["event"] == "Order Completed" for o in orders)
    assert orders[0]["timestamp"] == datetime(1997, 1, 1, tzinfo=UTC)
    second = orders[2]["properties"]
    assert (second["revenue"], second["quantity"], second["currency"]) == (77.0, 5, "USD")
    assert second["products"] == [{"product_id": CDNOW_ITEM, "quantity": 5, "price": 15.4}]
    # Two purchases on one day are two orders, told apart by their place in the day.
    assert len({o["messageId"] for o in orders}) == 4
    assert orders[3]["properties"]["revenue"] == 0.0  # free CDs are a real purchase


def test_sample_and_master_name_the_same_purchases_alike(tmp_path: Path) -> None:
    master = _events(list(read_cdnow(_write(tmp_path / "m.txt", MASTER))))
    sample = _events(list(read_cdnow(_write(tmp_path / "s.txt.gz", SAMPLE, gz=True))))
    assert [s["messageId"] for s in sample] == [m["messageId"] for m in master[1:3]]
    assert [s["userId"] for s in sample] == ["2", "2"]


def test_id_prefix_keeps_data_sets_apart(tmp_path: Path) -> None:
    orders = _events(list(read_cdnow(_write(tmp_path / "m.txt", MASTER), id_prefix="cd-")))
    assert orders[0]["userId"] == "cd-1"


@pytest.mark.parametrize(("line", "field", "reason"), [
    (" 00004 19971301  1   11.77", "date", "not a date YYYYMMDD: '19971301'"),
    (" 00004 19970101  x   11.77", "number_of_cds", "whole number"),
    (" 00004 19970101  -1  11.77", "number_of_cds", "zero or more"),
    (" 00004 19970101  1   $11", "dollar_value", "not a number: '$11'"),
    (" 00004 19970101  1   -5.00", "dollar_value", "negative dollar_value -5.0"),
    (" 00004 19970101  1", "(row)", "3 columns, expected 4"),
    (" abc 19970101  1   1.00", "customer_id", "not a customer number"),
])
def test_bad_rows_are_rejected_by_line_and_field(
        tmp_path: Path, line: str, field: str, reason: str) -> None:
    records = list(read_cdnow(_write(tmp_path / "m.txt", MASTER + line + "\r\n")))
    [error] = [r for r in records if isinstance(r, SourceError)]
    assert (error.line, error.field) == (6, field)
    assert reason in error.reason
    assert len(_events(records)) == 4


def test_a_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a CDNOW file: 2 columns"):
        list(read_cdnow(_write(tmp_path / "x.txt", "a b\n1 2\n")))
    with pytest.raises(FileNotFoundError, match="nope"):
        list(read_cdnow(tmp_path / "nope.txt"))


@pytest.mark.dataset
def test_real_sample_then_master_land_once_each(sqlite_store: Store) -> None:
    folder = dataset("cdnow")
    sample = Ingestor(sqlite_store).ingest(read_cdnow(folder / "CDNOW_sample.txt.gz"))
    assert not sample.rejected and sample.accepted == 6_919
    assert sqlite_store.stats()["profiles"] == 2_357
    master = Ingestor(sqlite_store).ingest(read_cdnow(folder / "CDNOW_master.txt.gz"))
    assert not master.rejected
    # The sample holds all lines of its customers: the master adds only the others.
    assert (master.accepted, master.duplicates) == (69_659 - 6_919, 6_919)
    stats = sqlite_store.stats()
    assert (stats["events"], stats["profiles"]) == (69_659, 23_570)


@pytest.mark.dataset
def test_real_sample_totals_match_the_published_ones() -> None:
    records = list(read_cdnow(dataset("cdnow", "CDNOW_sample.txt.gz")))
    orders = _events(records)
    assert len(orders) == 6_919 and not [r for r in records if isinstance(r, SourceError)]
    assert len({o["userId"] for o in orders}) == 2_357
    assert sum(o["properties"]["quantity"] for o in orders) == 16_479
    assert abs(sum(o["properties"]["revenue"] for o in orders) - 244_091.94) < 0.005


def test_import_cdnow_command_reports_and_rejects_by_line(tmp_path: Path) -> None:
    from tests.cli.test_cli import run

    good = _write(tmp_path / "CDNOW_master.txt", MASTER)
    done = run(["--db", f"sqlite:///{tmp_path / 's.db'}", "import", "cdnow", str(good),
                "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"accepted": 4' in done.stdout
    bad = _write(tmp_path / "bad.txt", MASTER + " 00004 19970101  1   -5.00\r\n")
    failed = run(["--db", f"sqlite:///{tmp_path / 's.db'}", "import", "cdnow", str(bad),
                  "--strict", "--json"], tmp_path)
    assert failed.returncode == 1
    assert '"field": "dollar_value"' in failed.stdout and '"index": 6' in failed.stdout
