"""Money columns on import: a non-numeric or negative amount is a rejected row, named by row
and column; a refund in Online Retail (a C invoice's negative Quantity) is not."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tailored.ingest.sources.online_retail import read_online_retail
from tailored.ingest.sources.records import SourceError, SourceRecord
from tailored.ingest.sources.tabular import read_table

HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
          "Customer ID", "Country"]
T = datetime(2010, 3, 1, 9, 0)


def _retail(path: Path, rows: list[list[object]]) -> Path:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_text(text.getvalue())
    return path


def _errors(records: list[SourceRecord | SourceError]) -> list[SourceError]:
    return [r for r in records if isinstance(r, SourceError)]


def test_online_retail_refuses_negative_and_non_numeric_prices(tmp_path: Path) -> None:
    path = _retail(tmp_path / "r.csv", [
        ["489434", "85048", "LIGHTS", 12, T, 6.95, 13085, "UK"],
        ["506401", "B", "Adjust bad debt", 1, T, -53594.36, "", "UK"],
        ["489435", "22350", "CAT BOWL", 2, T, "two pounds", 13085, "UK"],
    ])
    records = list(read_online_retail(path))
    errors = _errors(records)
    assert [(e.line, e.field) for e in errors] == [(3, "Price"), (4, "Price")]
    assert errors[0].reason.startswith("negative price -53594.36")
    assert errors[1].reason == "not valid: 'two pounds'"
    orders = [r for r in records if isinstance(r, SourceRecord) and r.data.get("event")]
    assert [o.data["properties"]["order_id"] for o in orders] == ["489434"]


def test_online_retail_leaves_bad_debt_write_offs_out(tmp_path: Path) -> None:
    path = _retail(tmp_path / "r.csv", [
        ["A506401", "B", "Adjust bad debt", 1, T, -53594.36, "", "UK"],
        ["489434", "85048", "LIGHTS", 12, T, 6.95, 13085, "UK"],
    ])
    records = list(read_online_retail(path))
    assert _errors(records) == []
    orders = [r for r in records if isinstance(r, SourceRecord) and r.data.get("event")]
    assert [o.data["properties"]["order_id"] for o in orders] == ["489434"]
    assert not [r for r in records if r.kind == "item" and r.data["item_id"] == "B"]


def test_online_retail_refunds_keep_their_negative_quantity(tmp_path: Path) -> None:
    path = _retail(tmp_path / "r.csv", [
        ["C489449", "85048", "LIGHTS", -1, T, 6.95, 16321, "Australia"],
    ])
    records = list(read_online_retail(path))
    assert not _errors(records)
    [refund] = [r for r in records if isinstance(r, SourceRecord) and r.data.get("event")]
    assert refund.data["event"] == "Order Refunded"
    assert refund.data["properties"]["revenue"] == -6.95


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_tables_refuse_negative_and_non_numeric_money(tmp_path: Path, fmt: str) -> None:
    rows = [{"who": "u1", "sku": "a", "amount": "12.5"},
            {"who": "u2", "sku": "b", "amount": "-3"},
            {"who": "u3", "sku": "c", "amount": "lots"}]
    path = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        path.write_text("who,sku,amount\n" + "".join(
            f"{r['who']},{r['sku']},{r['amount']}\n" for r in rows))
    elif fmt == "jsonl":
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    for target in ("value", "price"):
        records = list(read_table(path, fmt=fmt, kind="events",  # type: ignore[arg-type]
                                  mapping={"user_id": "who", "item_id": "sku",
                                           target: "amount"},
                                  event_name="Order Completed"))
        errors = _errors(records)
        first_row = 2 if fmt == "csv" else 1  # csv counts its header line
        assert [(e.line, e.field) for e in errors] == [(first_row + 1, "amount"),
                                                       (first_row + 2, "amount")]
        assert errors[0].reason == f"negative {target} -3.0: money is zero or more"
        assert errors[1].reason == "not a number: 'lots'"
        [ok] = [r for r in records if isinstance(r, SourceRecord)]
        assert ok.data["properties"][target] == 12.5


def test_item_tables_refuse_negative_prices(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("sku,cost\na,1.5\nb,-2\n")
    records = list(read_table(path, fmt="csv", kind="items",
                              mapping={"item_id": "sku", "price": "cost"}))
    assert [(e.line, e.field) for e in _errors(records)] == [(3, "cost")]
