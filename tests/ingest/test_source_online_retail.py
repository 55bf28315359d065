"""The Online Retail reader: csv, gzip, xlsx and parquet; invoices, refunds, bad rows, real data."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from tailored.catalog import Item
from tailored.ingest.sources import online_retail
from tailored.ingest.sources.online_retail import read_online_retail
from tailored.ingest.sources.records import SourceError, SourceSkip, stable_message_id
from tests.conftest import DATASETS

HEADER_II = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]
HEADER_I = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
T1, T2 = datetime(2009, 12, 1, 7, 45), datetime(2009, 12, 1, 9, 6)

# Spreadsheet rows 2.. : two interleaved invoices, a refund, an anonymous invoice, bad rows.
ROWS: list[list[Any]] = [
    ["489434", "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", 12, T1, 6.95, 13085.0, "UK"],
    ["489434", "79323P", "PINK CHERRY LIGHTS", 12, T1, 6.75, 13085.0, "UK"],
    ["489435", "22350", "CAT BOWL ", 12, T1, 2.55, 13085.0, "UK"],
    ["489434", "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", 1, T1, 7.0, 13085.0, "UK"],
    ["489436", "21523", "nan", 10, T2, 0.0, None, "UK"],
    ["489436", "21523", "DOORMAT FANCY FONT", 2, T2, 5.95, None, "UK"],
    ["C489449", "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", -1, T2, 6.95, 16321.0, "Australia"],
    ["489437", "22111", "BROKEN ROW", "many", T2, 1.0, 16321.0, "Australia"],
    ["489437", "22112", "NO DATE", 1, None, 1.0, 16321.0, "Australia"],
    ["489437", "22113", "NO PRICE", 1, T2, None, 16321.0, "Australia"],
]


def write_csv(
    path: Path, rows: list[list[Any]], header: list[str] = HEADER_II, *, gz: bool = False
) -> Path:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    data = text.getvalue().encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_parquet(path: Path, rows: list[list[Any]]) -> Path:
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "Invoice": pa.array(columns[0], pa.string()),
            "StockCode": pa.array(columns[1], pa.string()),
            "Description": pa.array(columns[2], pa.string()),
            "Quantity": pa.array(
                [q if isinstance(q, int) else None for q in columns[3]], pa.int64()
            ),
            "InvoiceDate": pa.array(columns[4], pa.timestamp("ns")),
            "Price": pa.array(columns[5], pa.float64()),
            "Customer ID": pa.array(columns[6], pa.float64()),
            "Country": pa.array(columns[7], pa.string()),
        }
    )
    pq.write_table(table, path)
    return path


def split(records: list) -> dict[str, list]:
    out: dict[str, list] = {"item": [], "identify": [], "order": [], "error": [], "skip": []}
    for r in records:
        if isinstance(r, SourceError):
            out["error"].append(r)
        elif isinstance(r, SourceSkip):
            out["skip"].append(r)
        elif r.kind == "item":
            out["item"].append(r)
        elif r.data["type"] == "identify":
            out["identify"].append(r)
        else:
            out["order"].append(r)
    return out


def check_fixture(records: list, *, error_fields: set[tuple[int, str]]) -> None:
    parts = split(records)
    orders = {o.data["properties"]["order_id"]: o for o in parts["order"]}
    assert list(orders) == ["489434", "489435", "489436", "C489449"]
    first = orders["489434"].data
    assert first["event"] == "Order Completed" and first["userId"] == "13085"
    assert first["messageId"] == stable_message_id("online-retail", "order", "489434")
    assert first["timestamp"] == datetime(2009, 12, 1, 7, 45, tzinfo=UTC)
    # Rows 2, 3 and 5 are one invoice though 489435 sits between them.
    assert [p["quantity"] for p in first["properties"]["products"]] == [12, 12, 1]
    assert first["properties"]["products"][0] == {
        "product_id": "85048",
        "name": "15CM CHRISTMAS GLASS BALL 20 LIGHTS",
        "quantity": 12,
        "price": 6.95,
    }
    assert first["properties"]["revenue"] == round(12 * 6.95 + 12 * 6.75 + 7.0, 2)
    assert first["properties"]["currency"] == "GBP"
    assert first["properties"]["country"] == "UK"
    anonymous = orders["489436"].data
    assert "userId" not in anonymous and anonymous["anonymousId"] == "retail-invoice-489436"
    assert "name" not in anonymous["properties"]["products"][0]  # "nan" is no description
    refund = orders["C489449"].data
    assert refund["event"] == "Order Refunded" and refund["properties"]["revenue"] == -6.95

    assert [(i.data["userId"], i.data["traits"]) for i in parts["identify"]] == [
        ("13085", {"country": "UK"}),
        ("16321", {"country": "Australia"}),
    ]
    items = {i.data["item_id"]: i.data for i in parts["item"]}
    assert list(items) == ["85048", "79323P", "22350", "21523"]
    assert items["85048"]["price"] == 7.0  # the latest price seen when it is first emitted
    assert items["22350"]["title"] == "CAT BOWL"
    assert items["21523"] == {
        "item_id": "21523",
        "title": "DOORMAT FANCY FONT",
        "price": 5.95,
        "currency": "GBP",
        "attributes": {},
    }
    for item in items.values():
        Item.model_validate(item)
    # Every item and identify comes before the first event that uses it.
    position = {id(r): n for n, r in enumerate(records)}
    first_use: dict[str, int] = {}
    for order in parts["order"]:
        for p in order.data["properties"]["products"]:
            first_use.setdefault(p["product_id"], position[id(order)])
    assert all(position[id(i)] < first_use[i.data["item_id"]] for i in parts["item"])
    assert position[id(parts["identify"][0])] < position[id(orders["489434"])]

    assert {(e.line, e.field) for e in parts["error"]} == error_fields


def test_csv(tmp_path: Path) -> None:
    records = list(read_online_retail(write_csv(tmp_path / "retail.csv", ROWS)))
    check_fixture(records, error_fields={(9, "Quantity"), (10, "InvoiceDate"), (11, "Price")})
    reasons = {e.field: e.reason for e in split(records)["error"]}
    assert reasons["Quantity"] == "not valid: 'many'" and reasons["Price"] == "missing"


def test_csv_gzip_by_magic_bytes(tmp_path: Path) -> None:
    plain = list(read_online_retail(write_csv(tmp_path / "a.csv", ROWS)))
    packed = list(read_online_retail(write_csv(tmp_path / "b.csv", ROWS, gz=True)))
    assert packed == plain


def test_parquet(tmp_path: Path) -> None:
    good = [*ROWS[:7], ROWS[8]]  # typed columns cannot hold "many"
    records = list(read_online_retail(write_parquet(tmp_path / "r.parquet", good)))
    check_fixture(records, error_fields={(9, "InvoiceDate")})


def test_xlsx_all_sheets(tmp_path: Path) -> None:
    book = Workbook()
    first = book.active
    first.title = "Year 2009-2010"
    first.append(HEADER_II)
    for row in ROWS:
        first.append([int(row[0]) if row[0].isdigit() else row[0], *row[1:]])
    second = book.create_sheet("Year 2010-2011")
    second.append(HEADER_II)
    second.append(ROWS[0])  # the sheets overlap: the same invoice again
    second.append(
        ["489500", 85048, "15CM CHRISTMAS GLASS BALL 20 LIGHTS", 3, T2, 6.95, 99.0, "France"]
    )
    book.save(tmp_path / "online_retail_II.xlsx")

    records = list(read_online_retail(tmp_path / "online_retail_II.xlsx"))
    parts = split(records)
    assert {(e.line, e.field) for e in parts["error"]} == {
        (9, "Year 2009-2010: Quantity"),
        (10, "Year 2009-2010: InvoiceDate"),
        (11, "Year 2009-2010: Price"),
    }
    overlap = [o for o in parts["order"] if o.data["properties"]["order_id"] == "489434"]
    assert len(overlap) == 2 and overlap[0].data["messageId"] == overlap[1].data["messageId"]
    assert [i.data["userId"] for i in parts["identify"]] == ["13085", "16321", "99"]
    assert len(parts["item"]) == 4  # 85048 (an int cell in sheet 2) is not emitted again
    assert parts["order"][-1].data["properties"]["products"][0]["product_id"] == "85048"


def test_online_retail_i_columns_and_us_dates(tmp_path: Path) -> None:
    rows = [
        [
            "536365",
            "85123A",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            "6",
            "12/1/2010 8:26",
            "2.55",
            "17850",
            "UK",
        ],
        ["536365", "71053", "WHITE METAL LANTERN", "6", "12/1/2010 8:26", "3.39", "17850", "UK"],
        [
            "536366",
            "22633",
            "HAND WARMER UNION JACK",
            "6",
            "12/13/2010 8:28",
            "1.85",
            "17850.0",
            "UK",
        ],
    ]
    records = list(read_online_retail(write_csv(tmp_path / "data.csv", rows, HEADER_I)))
    orders = split(records)["order"]
    assert [o.data["timestamp"] for o in orders] == [
        datetime(2010, 12, 1, 8, 26, tzinfo=UTC),
        datetime(2010, 12, 13, 8, 28, tzinfo=UTC),
    ]
    assert {o.data["userId"] for o in orders} == {"17850"}
    assert orders[0].data["properties"]["revenue"] == round(6 * 2.55 + 6 * 3.39, 2)


def test_invoice_reappearing_after_the_window(tmp_path: Path) -> None:
    rows = [["500000", "A1", "X", 1, T1, 1.0, 1.0, "UK"]]
    rows += [[str(500001 + n), "A2", "Y", 1, T1, 1.0, 2.0, "UK"] for n in range(20)]
    rows += [["500000", "A1", "X", 2, T2, 1.0, 1.0, "UK"]]
    records = list(read_online_retail(write_parquet(tmp_path / "r.parquet", rows)))
    again = [o for o in split(records)["order"] if o.data["properties"]["order_id"] == "500000"]
    assert len(again) == 2
    assert again[0].data["messageId"] == stable_message_id("online-retail", "order", "500000")
    assert again[1].data["messageId"] == stable_message_id(
        "online-retail", "order", "500000", "", 23
    )
    assert again[1].line == 23 and again[1].data["timestamp"] == T2.replace(tzinfo=UTC)


def test_window_bounds_open_invoices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(online_retail, "_WINDOW", 1)
    rows = [[invoice, "A", "X", 1, T1, 1.0, None, "UK"] for invoice in ("1", "2", "3", "1")]
    orders = split(list(read_online_retail(write_parquet(tmp_path / "r.parquet", rows))))["order"]
    assert [o.data["properties"]["order_id"] for o in orders] == ["1", "2", "3", "1"]


def test_id_prefix(tmp_path: Path) -> None:
    records = list(read_online_retail(write_csv(tmp_path / "r.csv", ROWS), id_prefix="uk:"))
    parts = split(records)
    assert parts["identify"][0].data["userId"] == "uk:13085"
    assert {o.data.get("userId", o.data.get("anonymousId")) for o in parts["order"]} == {
        "uk:13085",
        "uk:retail-invoice-489436",
        "uk:16321",
    }


def test_missing_file_and_wrong_columns(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        list(read_online_retail(tmp_path / "nope.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("Invoice,StockCode,When\n1,2,3\n")
    with pytest.raises(ValueError, match=r"no column Quantity.*columns are: Invoice, StockCode"):
        list(read_online_retail(bad))


# -- the real data set ----------------------------------------------------------------------


@pytest.mark.dataset
def test_real_online_retail_ii() -> None:
    path = DATASETS / "online-retail-ii" / "online_retail_II.parquet"
    if not path.is_file():
        pytest.skip(f"data set not found: {path}")
    counts: Counter[str] = Counter()
    orders: set[str] = set()
    guests: set[str] = set()
    left_out: Counter[tuple[str, str]] = Counter()
    left_rows: Counter[str] = Counter()
    revenue = line_total = 0.0
    refused = []
    for r in read_online_retail(path):
        if isinstance(r, SourceError):
            refused.append((r.line, r.field))
            continue
        if isinstance(r, SourceSkip):
            left_out[r.kind, r.reason] += 1
            left_rows[r.kind] += r.rows
            continue
        if r.kind == "item":
            counts["item"] += 1
            continue
        counts[r.data.get("event") or r.data["type"]] += 1
        if r.data["type"] == "track":
            orders.add(r.data["properties"]["order_id"])
            revenue += r.data["properties"]["revenue"]
            line_total += sum(p["quantity"] * p["price"] for p in r.data["properties"]["products"])
            if "anonymousId" in r.data:
                guests.add(r.data["anonymousId"])
    # 655 invoices are split across non-adjacent rows in the file; they are rejoined.
    # The three bad-debt write-offs ("A" invoices, negative prices) and the 3,268 stock
    # adjustments (guest invoices priced 0 throughout) are left out, not refused.
    assert refused == []
    assert left_out == {
        ("bad_debt", "bad-debt write-off"): 3,
        ("stock_adjustment", "stock written off (negative quantity)"): 2121,
        ("stock_adjustment", "no description"): 1101,
        ("stock_adjustment", "warehouse note (damages, missing, ?...)"): 37,
        ("stock_adjustment", "zero price"): 9,
    }
    assert left_rows == {"bad_debt": 3, "stock_adjustment": 3316}
    assert counts["Order Completed"] + counts["Order Refunded"] == 28_816 - 3 - 3268 == len(
        orders)
    assert counts["Order Refunded"] == 4592
    assert counts["identify"] == 4383
    # Guest invoices that are sales: 5,229 invoices without a customer, less the adjustments
    # and the write-offs.
    assert len(guests) == 5229 - 3268 - 3 == 1958
    # 4,632 stock codes, one of which ("47503J ") differs from another only by a space, less
    # those that only ever appear in adjustments and write-offs (such as "B").
    assert counts["item"] == 4265
    # The publisher's total, 9,539,484.63, less the write-offs' -136,552.02 (adjustments are
    # priced 0).
    assert abs(line_total - 9_676_036.65) < 0.01
    # Per-invoice rounding to pence loses 14 lines priced at 0.001 (PADS): .634 becomes .62.
    assert abs(revenue - 9_676_036.64) < 0.005


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a folder"):
        list(read_online_retail(tmp_path))


# Stock adjustments, as the real file has them: guest invoices priced 0 throughout.
ADJUSTMENTS: list[list[Any]] = [
    ["489440", "21000", "damages", -12, T1, 0.0, None, "UK"],   # written off
    ["489441", "21001", "?", 5, T1, 0.0, None, "UK"],           # a note
    ["489442", "21002", "missing", 3, T1, 0.0, None, "UK"],     # a note
    ["489443", "21003", None, 8, T1, 0.0, None, "UK"],          # no description
    ["489443", "21004", None, 2, T1, 0.0, None, "UK"],
    ["489444", "21005", "OWL DOORSTOP", 1, T1, 0.0, None, "UK"],  # priced 0
    ["A489445", "B", "Adjust bad debt", 1, T1, -500.0, None, "UK"],
    # A guest sale with free postage stays a sale.
    ["489446", "21006", "DOORMAT", 1, T2, 5.95, None, "UK"],
    ["489446", "DOT", "DOTCOM POSTAGE", 1, T2, 0.0, None, "UK"],
    # A customer's invoice with a line taken back out of it: the line goes, the sale stays.
    ["489447", "21007", "LANTERN", 2, T2, 3.0, 12000.0, "UK"],
    ["489447", "21008", "LANTERN RED", -2, T2, 3.0, 12000.0, "UK"],
    ["489447", "21009", "LANTERN BLUE", 0, T2, 3.0, 12000.0, "UK"],
    # Refunds keep their negative quantities.
    ["C489448", "21007", "LANTERN", -1, T2, 3.0, 12000.0, "UK"],
]


def test_stock_adjustments_are_left_out_by_kind(tmp_path: Path) -> None:
    records = list(read_online_retail(write_csv(tmp_path / "r.csv", ADJUSTMENTS)))
    parts = split(records)
    assert parts["error"] == []
    assert [(s.line, s.kind, s.reason, s.rows) for s in parts["skip"]] == [
        (2, "stock_adjustment", "stock written off (negative quantity)", 1),
        (3, "stock_adjustment", "warehouse note (damages, missing, ?...)", 1),
        (4, "stock_adjustment", "warehouse note (damages, missing, ?...)", 1),
        (5, "stock_adjustment", "no description", 2),
        (7, "stock_adjustment", "zero price", 1),
        (8, "bad_debt", "bad-debt write-off", 1),
        (12, "odd_line", "negative quantity outside a refund", 1),
        (13, "odd_line", "zero quantity outside a refund", 1),
    ]
    orders = {o.data["properties"]["order_id"]: o.data for o in parts["order"]}
    assert list(orders) == ["489446", "489447", "C489448"]
    assert [p["product_id"] for p in orders["489446"]["properties"]["products"]] == [
        "21006", "DOT"]
    assert orders["489447"]["properties"]["products"] == [
        {"product_id": "21007", "name": "LANTERN", "quantity": 2, "price": 3.0}]
    assert orders["489447"]["properties"]["revenue"] == 6.0
    assert orders["C489448"]["properties"]["revenue"] == -3.0
    # Only items that something kept uses are in the catalog.
    assert sorted(i.data["item_id"] for i in parts["item"]) == ["21006", "21007", "DOT"]


def test_import_report_counts_what_was_left_out(tmp_path: Path, sqlite_store: Any) -> None:
    from tailored.ingest import Ingestor

    report = Ingestor(sqlite_store).ingest(
        read_online_retail(write_csv(tmp_path / "r.csv", ADJUSTMENTS)))
    assert report.rejected == [] and report.accepted == 4  # an identify and three orders
    assert report.to_dict()["left_out"] == {
        "stock_adjustment": {"records": 5, "rows": 6, "reasons": {
            "stock written off (negative quantity)": 1,
            "warehouse note (damages, missing, ?...)": 2,
            "no description": 1, "zero price": 1}},
        "bad_debt": {"records": 1, "rows": 1, "reasons": {"bad-debt write-off": 1}},
        "odd_line": {"records": 2, "rows": 2, "reasons": {
            "negative quantity outside a refund": 1, "zero quantity outside a refund": 1}},
    }
    # One guest profile (the sale with free postage), none for the adjustments.
    stats = sqlite_store.stats()
    assert stats["profiles"] - stats["identified_profiles"] == 1
