"""Read the CDNOW purchase records of Fader and Hardie as orders.

Two layouts, both whitespace-separated text (plain or gzip):

* ``CDNOW_master.txt``: ``customer_id date number_of_cds dollar_value`` (a header line, or
  none);
* ``CDNOW_sample.txt``, the 1/10 sample of the BTYD literature: ``master_id sample_id date
  number_of_cds dollar_value``, no header.

Each line becomes one "Order Completed" event of the customer (their master id without its
zero padding, so the sample and the full set name a person alike), at midnight UTC of its
date, with the dollar value as revenue and one product line of ``number_of_cds`` CDs. The
file has no order ids and repeats a (customer, day) pair on 2,068 lines, so a line's messageId
is its customer, day and place among that customer's lines of the day: the sample and the full
set give the same ids, and importing both, or one twice, stores each purchase once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tailored.ingest.sources.files import open_binary, require_file
from tailored.ingest.sources.records import SourceError, SourceRecord, ordered_message_id

__all__ = ["CDNOW_ITEM", "read_cdnow"]

SOURCE = "cdnow"
CURRENCY = "USD"
# CDNOW records how many CDs were bought, never which: one catalog item stands for "a CD".
CDNOW_ITEM = "cdnow-cd"
_MASTER_HEADER = ("customer_id", "date", "number_of_cds", "dollar_value")
_SAMPLE_COLUMNS = ("master_id", "sample_id", "date", "number_of_cds", "dollar_value")


def _layout(fields: list[str]) -> tuple[str, ...]:
    if len(fields) == 4:
        return _MASTER_HEADER
    if len(fields) == 5:
        return _SAMPLE_COLUMNS
    raise ValueError(f"not a CDNOW file: {len(fields)} columns on the first line; expected 4 "
                     f"({' '.join(_MASTER_HEADER)}) or 5 ({' '.join(_SAMPLE_COLUMNS)})")


def _money(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_cdnow(path: str | Path, *, id_prefix: str = "") -> Iterator[SourceRecord | SourceError]:
    """Orders from ``CDNOW_master.txt`` or ``CDNOW_sample.txt`` (plain or gzip)."""
    file = require_file(path)
    columns: tuple[str, ...] | None = None
    seen: dict[tuple[str, str], int] = {}
    item_sent = False
    with open_binary(file) as stream:
        for line, raw in enumerate(stream, 1):
            fields = raw.decode("ascii", errors="replace").split()
            if not fields:
                continue
            if columns is None:
                columns = _layout(fields)
                if tuple(f.lower() for f in fields) == _MASTER_HEADER:
                    continue
            if len(fields) != len(columns):
                yield SourceError(line, "(row)", f"{len(fields)} columns, expected "
                                  f"{len(columns)}: {' '.join(columns)}")
                continue
            row = dict(zip(columns, fields, strict=True))
            record = _order(row, line, id_prefix, seen)
            if isinstance(record, SourceRecord) and not item_sent:
                item_sent = True
                yield SourceRecord("item", {"item_id": CDNOW_ITEM, "title": "CD",
                                            "currency": CURRENCY, "attributes": {}}, line)
            yield record


def _order(row: dict[str, str], line: int, prefix: str, seen: dict[tuple[str, str], int]
           ) -> SourceRecord | SourceError:
    who = row.get("master_id") or row["customer_id"]
    if not who.isdigit():
        return SourceError(line, "customer_id", f"not a customer number: {who!r}")
    customer = str(int(who))
    try:
        day = datetime.strptime(row["date"], "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return SourceError(line, "date", f"not a date YYYYMMDD: {row['date']!r}")
    cds = _money(row["number_of_cds"])
    if cds is None or cds < 0 or not cds.is_integer():
        return SourceError(line, "number_of_cds",
                           f"not a count of CDs (a whole number, zero or more): "
                           f"{row['number_of_cds']!r}")
    dollars = _money(row["dollar_value"])
    if dollars is None:
        return SourceError(line, "dollar_value", f"not a number: {row['dollar_value']!r}")
    if dollars < 0:
        return SourceError(line, "dollar_value",
                           f"negative dollar_value {dollars!r}: money is zero or more")
    key = (customer, row["date"])
    nth = seen.get(key, 0)
    seen[key] = nth + 1
    order_id = f"{customer}-{row['date']}-{nth}"
    properties: dict[str, Any] = {"order_id": order_id, "revenue": dollars,
                                  "currency": CURRENCY, "quantity": int(cds)}
    if cds > 0:
        properties["products"] = [{"product_id": CDNOW_ITEM, "quantity": int(cds),
                                   "price": dollars / cds}]
    event = {
        "type": "track",
        "event": "Order Completed",
        "userId": prefix + customer,
        "messageId": ordered_message_id(SOURCE, int(customer), row["date"], nth),
        "timestamp": day,
        "properties": properties,
        "context": {"library": {"name": "tailored-import", "version": "1"}, "source": SOURCE},
    }
    return SourceRecord("event", event, line)
