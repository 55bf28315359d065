"""Truncated and corrupt files: a clear error naming the file, never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.cli.test_cli import run


def _events(n: int) -> bytes:
    return b"".join(json.dumps({"type": "track", "event": "E", "userId": f"u{i}",
                                "messageId": f"m{i}"}).encode() + b"\n" for i in range(n))


def test_gzip_cut_off_midway_keeps_what_was_read_and_says_where_it_broke(
        tmp_path: Path) -> None:
    whole = gzip.compress(_events(3000))
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    r = run(["ingest", "cut.jsonl.gz", "--json"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    report = json.loads(r.stdout)
    [broke] = report["rejected"]
    assert broke["field"] == "(file)" and "truncated" in broke["reason"]
    assert broke["index"] == report["accepted"] + 1


def test_strict_with_a_cut_off_file_writes_nothing(tmp_path: Path) -> None:
    whole = gzip.compress(_events(3000))
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    r = run(["ingest", "cut.jsonl.gz", "--strict", "--json"], tmp_path)
    assert r.returncode == 1 and json.loads(r.stdout)["rolled_back"] is True
    stats = json.loads(run(["stats", "--json"], tmp_path).stdout)
    assert stats["events"] == 0


def test_corrupt_gzip_from_the_start_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl.gz").write_bytes(gzip.compress(_events(10))[:30])
    r = run(["ingest", "bad.jsonl.gz"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "bad.jsonl.gz" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_truncated_xlsx_is_a_clear_error(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
                  "Customer ID", "Country"])
    for i in range(500):
        sheet.append([str(500000 + i), "A1", "MUG", 1, "2010-01-01 10:00:00", 2.5, 1.0, "UK"])
    book.save(tmp_path / "full.xlsx")
    data = (tmp_path / "full.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    r = run(["import", "online-retail", "cut.xlsx", "--json"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "cut.xlsx" in r.stderr
    assert not (tmp_path / "tailored.db").exists()  # refused as a whole: no store made for it


def test_truncated_csv_last_row_is_rejected_by_line(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text(
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "489434,85048,LIGHT,12,2009-12-01 07:45:00,6.95,13085,UK\n"
        "489435,85048,LIGHT,12,2009-12-01 07:4")
    r = run(["import", "online-retail", "r.csv", "--json"], tmp_path)
    assert r.returncode == 1
    [bad] = json.loads(r.stdout)["rejected"]
    assert bad["index"] == 3 and bad["field"] == "InvoiceDate"
