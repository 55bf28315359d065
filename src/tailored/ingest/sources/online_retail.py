"""Read the UCI Online Retail and Online Retail II invoice lines as orders and refunds.

Accepts the publisher's ``.xlsx`` (every sheet), a ``.csv`` (plain or gzipped) or a
``.parquet`` copy, with either edition's column names. The format is told by the file's first
bytes, not its name. Each invoice becomes one "Order Completed" event, or "Order Refunded" for
the cancellations whose number starts with "C" (the one place an amount may be negative: in
their Quantity; a negative Price is rejected). Invoices whose number starts with "A" are
bad-debt write-offs ("Adjust bad debt", negative prices in the real file): accounting
entries, not anything a customer did, so they are left out, as analyses of this data do.
So are **stock adjustments**: invoices without a customer whose every line is priced 0 —
goods written off (a negative quantity outside a refund), notes of the warehouse in the
description ("damages", "missing", "?", "found"...) or zero-priced lines with no description
(3,268 of the 5,229 guest invoices of 2009-10). A line with a negative or zero quantity
outside a refund is left out of an invoice that is otherwise kept. Each is reported, by kind
and reason, in the import report's ``left_out`` (:class:`SourceSkip`). Each customer becomes
one identify event with their country, and each stock code one catalog item, emitted just
before the first event that uses it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tailored.ingest.sources.files import open_binary, require_file
from tailored.ingest.sources.records import (
    SourceError,
    SourceRecord,
    SourceSkip,
    stable_message_id,
)

__all__ = ["read_online_retail"]

SOURCE = "online-retail"
CURRENCY = "GBP"

# Our name -> the column names of Online Retail II and of Online Retail (2010-11).
_COLUMNS = {
    "invoice": ("Invoice", "InvoiceNo"),
    "code": ("StockCode",),
    "description": ("Description",),
    "quantity": ("Quantity",),
    "date": ("InvoiceDate",),
    "price": ("Price", "UnitPrice"),
    "customer": ("Customer ID", "CustomerID"),
    "country": ("Country",),
}
_OPTIONAL = {"description", "customer", "country"}
# The invoices are ordered by date, not number: rows of invoices made in the same minute
# interleave (655 of 28,816 invoices in the 2009-10 sheet are split, at most 6 runs apart).
# An invoice stays open until this many other invoice runs have started since its last row,
# which rejoins those splits while holding only a few invoices in memory.
_WINDOW = 16
_MAX_OPEN = 256
_MISSING_TEXT = {"", "nan", "NaN", "None"}

Row = tuple[int, Sequence[Any]]


Read = SourceRecord | SourceError | SourceSkip

#: What the import report calls the records it leaves out, and the reasons it gives.
BAD_DEBT = "bad_debt"
STOCK_ADJUSTMENT = "stock_adjustment"
ODD_LINE = "odd_line"


def read_online_retail(path: str | Path, *, id_prefix: str = "") -> Iterator[Read]:
    """Orders, refunds, customers and items from an Online Retail xlsx, csv or parquet file."""
    file = require_file(path)
    with file.open("rb") as probe:
        magic = probe.read(4)
    state = _State(id_prefix)
    if magic == b"PAR1":
        parts = _parquet_parts(file)
    elif magic == b"PK\x03\x04":
        parts = _xlsx_parts(file)
    else:
        parts = _csv_parts(file)
    for part, names, rows in parts:
        yield from state.read(part, names, rows)


def _indexes(header: Sequence[Any], where: str) -> tuple[list[int | None], list[str]]:
    """Positions and names of our columns in a header; a required one missing is an error."""
    names = [str(h).strip() if h is not None else "" for h in header]
    found: list[int | None] = []
    labels: list[str] = []
    for key, accepted in _COLUMNS.items():
        hit = next((names.index(a) for a in accepted if a in names), None)
        if hit is None and key not in _OPTIONAL:
            raise ValueError(
                f"{where} is not an Online Retail table: no column {' or '.join(accepted)}; "
                f"columns are: {', '.join(n for n in names if n)}"
            )
        found.append(hit)
        labels.append(names[hit] if hit is not None else accepted[0])
    return found, labels


def _pick(values: Sequence[Any], where: list[int | None]) -> tuple[Any, ...]:
    return tuple(values[i] if i is not None and i < len(values) else None for i in where)


def _parquet_parts(file: Path) -> Iterator[tuple[str, list[str], Iterator[Row]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(file)
    where, labels = _indexes(pf.schema_arrow.names, file.name)
    wanted = [labels[i] for i, w in enumerate(where) if w is not None]

    def rows() -> Iterator[Row]:
        number = 2  # the spreadsheet row the parquet was made from: data starts under a header
        for batch in pf.iter_batches(batch_size=65_536, columns=wanted):
            columns = []
            for label, w in zip(labels, where, strict=True):
                if w is None:
                    columns.append([None] * batch.num_rows)
                    continue
                col = batch.column(label)
                if pa.types.is_timestamp(col.type):
                    # Plain datetimes (not pandas objects), whatever the stored unit.
                    col = col.cast(pa.timestamp("us"), safe=False)
                columns.append(col.to_pylist())
            for offset, values in enumerate(zip(*columns, strict=True)):
                yield number + offset, values
            number += batch.num_rows

    yield "", labels, rows()


def _xlsx_parts(file: Path) -> Iterator[tuple[str, list[str], Iterator[Row]]]:
    from openpyxl import load_workbook

    book = load_workbook(file, read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            cells = sheet.iter_rows(values_only=True)
            header = next(cells, None)
            if header is None:
                continue
            where, labels = _indexes(header, f"{file.name} sheet {sheet.title!r}")
            rows = (
                (n, _pick(values, where))
                for n, values in enumerate(cells, 2)
                if any(v is not None for v in values)
            )
            # Sheets of the same workbook are told apart in error fields.
            yield sheet.title, [f"{sheet.title}: {label}" for label in labels], rows
    finally:
        book.close()


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    # Copies of Online Retail come as UTF-8 or as Latin-1 ("data.csv"); decide line by line.
    for raw in lines:
        try:
            yield raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            yield raw.decode("latin-1")


def _csv_parts(file: Path) -> Iterator[tuple[str, list[str], Iterator[Row]]]:
    with open_binary(file) as stream:
        reader = csv.reader(_decoded(stream))
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{file} is empty")
        where, labels = _indexes(header, file.name)
        rows = ((n, _pick(values, where)) for n, values in enumerate(reader, 2) if values)
        yield "", labels, rows


def _text(value: Any) -> str | None:
    """Cell text; integral numbers lose their ".0" (Excel and pandas turn ids into floats)."""
    if type(value) is str:
        text = value.strip()
        return None if text in _MISSING_TEXT else text
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        value = int(value) if value.is_integer() else value
    text = str(value).strip()
    return None if text in _MISSING_TEXT else text


def _customer(value: Any) -> str | None:
    """A customer id as digits: the files store it as a float ("13085.0"), for its nulls."""
    text = _text(value)
    number = _number(text) if text is not None else None
    if number is not None and number.is_integer():
        return str(int(number))
    return text


def _number(value: Any) -> float | None:
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int:
        return float(value)
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


_DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M")


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
    elif isinstance(value, date):
        naive = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            naive = datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            # Online Retail (2010-11) CSV copies write US dates: "12/1/2010 8:26".
            for fmt in _DATE_FORMATS:
                try:
                    naive = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                return None
    else:
        return None
    # The shop's clock is UK local time (GMT, BST in summer) and carries no zone. It is taken
    # as UTC, as everyone reading this data set does: summer times are an hour late.
    return naive.replace(tzinfo=UTC)


@dataclass(slots=True)
class _Invoice:
    number: str
    first_row: int
    when: datetime
    customer: str | None
    country: str | None
    repeat: bool
    last_run: int = 0
    lines: list[tuple[int, str, str | None, int | float, float]] = field(default_factory=list)


class _State:
    """What one file's read remembers: customers and codes seen, invoices still open."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.customers: set[str] = set()
        self.codes: set[str] = set()
        self.part = ""
        self.done: set[str] = set()

    def read(self, part: str, names: list[str], rows: Iterator[Row]) -> Iterator[Read]:
        # Invoice numbers are remembered per sheet: the two sheets of Online Retail II overlap
        # by a week, and an invoice in both gets the same messageId so it is stored once.
        self.part, self.done = part, set()
        open_: dict[str, _Invoice] = {}
        runs, previous = 0, None
        last_day: Any = None
        when: datetime | None = None
        last_who: Any = ()
        customer = place = None
        for row, (inv, code, desc, qty, day, price, cust, country) in rows:
            invoice, stock, quantity, unit = _text(inv), _text(code), _number(qty), _number(price)
            if day != last_day or when is None:
                # Rows of one invoice share their date: parse it once.
                when, last_day = _when(day), day
            if invoice is None or stock is None or quantity is None or when is None or unit is None:
                yield self._reject(row, names, (inv, code, desc, qty, day, price))
                continue
            write_off = invoice.startswith("A")  # bad debt: bookkeeping, left out at close
            if unit < 0 and not write_off:
                # Money is never negative: a refund is a C invoice with a negative Quantity.
                yield SourceError(row, names[5], f"negative price {unit!r} ({_text(desc)}); "
                                  "a price must be zero or more")
                continue
            if invoice != previous:
                runs, previous = runs + 1, invoice
                while open_:
                    oldest = next(iter(open_.values()))
                    if runs - oldest.last_run <= _WINDOW and len(open_) < _MAX_OPEN:
                        break
                    yield from self._close(open_.pop(oldest.number))
            if (cust, country) != last_who:
                customer, place, last_who = _customer(cust), _text(country), (cust, country)
            if customer is not None and customer not in self.customers and not write_off:
                self.customers.add(customer)
                yield self._identify(row, customer, place, when)
            group = open_.get(invoice)
            if group is None:
                repeat = invoice in self.done
                group = _Invoice(invoice, row, when, customer, place, repeat)
                open_[invoice] = group
            group.last_run = runs
            count = int(quantity) if quantity.is_integer() else quantity
            group.lines.append((row, stock, _text(desc), count, unit))
        for group in open_.values():
            yield from self._close(group)

    @staticmethod
    def _reject(row: int, names: list[str], raw: tuple[Any, ...]) -> SourceError:
        """The error for a row missing an invoice, code, quantity, date or price."""
        checks = ((_text, 0), (_text, 1), (_number, 3), (_when, 4), (_number, 5))
        bad = next(i for parse, i in checks if parse(raw[i]) is None)
        reason = "missing" if _text(raw[bad]) is None else f"not valid: {raw[bad]!r}"
        return SourceError(row, names[bad], reason)

    def _identify(
        self, row: int, customer: str, country: str | None, when: datetime
    ) -> SourceRecord:
        user = self.prefix + customer
        event = {
            "type": "identify",
            "userId": user,
            "messageId": stable_message_id(SOURCE, "customer", user),
            "timestamp": when,
            "traits": {"country": country} if country else {},
            "context": _context(),
        }
        return SourceRecord("event", event, row)

    def _close(self, group: _Invoice) -> Iterator[SourceRecord | SourceSkip]:
        self.done.add(group.number)
        whole = _left_out(group)
        if whole is not None:
            yield SourceSkip(group.first_row, *whole, rows=len(group.lines))
            return
        refund = group.number.startswith("C")
        products, revenue = [], 0.0
        new: dict[str, dict[str, Any]] = {}
        lines = []
        for line in group.lines:
            row, quantity = line[0], line[3]
            if not refund and quantity <= 0:
                # Stock taken out of (or a 0 put into) a sale: no part of what was bought.
                reason = "negative quantity" if quantity < 0 else "zero quantity"
                yield SourceSkip(row, ODD_LINE, f"{reason} outside a refund")
                continue
            lines.append(line)
        if not lines:
            return
        for row, code, name, quantity, price in lines:
            product: dict[str, Any] = {"product_id": code, "quantity": quantity, "price": price}
            if name:
                product["name"] = name
            products.append(product)
            revenue += quantity * price
            if code not in self.codes:
                item = new.setdefault(code, {"item_id": code, "title": None, "price": None})
                item.setdefault("line", row)
                item["title"] = item["title"] or name
                item["price"] = price if price > 0 else item["price"]
        for code, item in new.items():
            self.codes.add(code)
            line = item.pop("line")
            yield SourceRecord("item", {**item, "currency": CURRENCY, "attributes": {}}, line)
        # The first run of an invoice is the invoice, whichever sheet it is in; a later run
        # (beyond the window) is told apart by its place, so a second import adds nothing.
        key = (group.number,) if not group.repeat else (group.number, self.part, group.first_row)
        event: dict[str, Any] = {
            "type": "track",
            "event": "Order Refunded" if refund else "Order Completed",
            "messageId": stable_message_id(SOURCE, "order", *key),
            "timestamp": group.when,
            "properties": {
                "order_id": group.number,
                "products": products,
                "revenue": round(revenue, 2),
                "currency": CURRENCY,
            },
            "context": _context(),
        }
        if group.country:
            event["properties"]["country"] = group.country
        if group.customer is not None:
            event["userId"] = self.prefix + group.customer
        else:
            event["anonymousId"] = f"{self.prefix}retail-invoice-{group.number}"
        yield SourceRecord("event", event, group.first_row)


def _is_note(description: str | None) -> bool:
    """A warehouse note in the description ("damages", "missing", "?", "found"), not a
    product name: the shop writes every product name in capitals."""
    return description is not None and (
        "?" in description or not any(c.isupper() for c in description))


def _left_out(group: _Invoice) -> tuple[str, str] | None:
    """The kind and reason an invoice is left out for, or None for a sale or refund.

    A stock adjustment is an invoice without a customer whose every line is priced 0 (a
    guest sale with one free line, such as postage, stays a sale)."""
    if group.number.startswith("A"):
        return BAD_DEBT, "bad-debt write-off"
    if group.customer is not None or group.number.startswith("C") or any(
            price != 0 for *_, price in group.lines):
        return None
    if any(quantity < 0 for *_, quantity, _ in group.lines):
        return STOCK_ADJUSTMENT, "stock written off (negative quantity)"
    if any(_is_note(name) for _, _, name, _, _ in group.lines):
        return STOCK_ADJUSTMENT, "warehouse note (damages, missing, ?...)"
    if all(name is None for _, _, name, _, _ in group.lines):
        return STOCK_ADJUSTMENT, "no description"
    return STOCK_ADJUSTMENT, "zero price"


def _context() -> dict[str, Any]:
    return {"library": {"name": "tailored-import", "version": "1"}, "source": SOURCE}
