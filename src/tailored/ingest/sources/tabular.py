"""Read a user's own tables (CSV/TSV, Parquet, JSON Lines) as events, items, users or edges.

The user names which column feeds which field with a mapping of target field to source
column, e.g. ``{"user_id": "userID", "item_id": "artistID", "value": "weight"}``. Every mapped
column is checked against the file's columns before any row is read, so a typo fails at once
instead of after a million rows. Empty cells leave their field out.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import orjson

from tailored.ingest.sources.files import open_binary, require_file
from tailored.ingest.sources.records import SourceError, SourceRecord, stable_message_id

__all__ = ["TARGETS", "parse_mapping", "read_table"]

Format = Literal["csv", "parquet", "jsonl"]
Kind = Literal["events", "items", "users", "edges"]

# Fixed targets per kind, and the "prefix.X" families that take any X.
# fmt: off
TARGETS: dict[str, tuple[str, ...]] = {
    "events": ("user_id", "anonymous_id", "event", "item_id", "timestamp", "value", "rating",
               "quantity", "price", "message_id", "properties.X", "traits.X", "context.X"),
    "items": ("item_id", "title", "description", "category", "brand", "price", "currency",
              "tags", "image_url", "available", "updated_at", "attributes.X"),
    "users": ("user_id", "traits.X", "any other name (a trait)"),
    "edges": ("src", "dst", "kind", "weight"),
}
# fmt: on
_REQUIRED = {"events": (), "items": ("item_id",), "users": ("user_id",), "edges": ("src", "dst")}
_PREFIXES = {"events": ("properties.", "traits.", "context."), "items": ("attributes.",)}
_NUMBERS = {"value", "rating", "price", "weight"}
_MONEY = {"value", "price"}
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}
# JSON Lines have no header: the columns are the keys seen in the first lines.
_JSONL_SCAN = 1000


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["user_id=userID", "item_id=artistID"]`` as ``{"user_id": "userID", ...}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, column = pair.partition("=")
        target, column = target.strip(), column.strip()
        if not sep or not target or not column:
            raise ValueError(f"--map {pair!r}: expected TARGET=COLUMN, e.g. user_id=userID")
        if target in mapping:
            raise ValueError(f"--map {pair!r}: {target} is already mapped to {mapping[target]!r}")
        mapping[target] = column
    return mapping


def read_table(
    path: str | Path,
    *,
    fmt: Format,
    kind: Kind,
    mapping: dict[str, str],
    delimiter: str | None = None,
    header: bool = True,
    columns: list[str] | None = None,
    event_name: str | None = None,
    source_name: str = "import",
    anonymous_rows: bool = False,
) -> Iterator[SourceRecord | SourceError]:
    """Records of ``kind`` from a csv, parquet or jsonl file (plain or gzip), by ``mapping``.

    With ``anonymous_rows``, an event row without a user id or anonymous id is one anonymous
    person of its own (an anonymous id stable per file and line, so importing twice adds
    nothing): review corpora and survey exports often have no ids at all.
    """
    file = require_file(path)
    _check_targets(kind, mapping, event_name, anonymous_rows)
    if fmt == "csv":
        names, rows = _csv(file, delimiter, header, columns)
    elif fmt == "parquet":
        names, rows = _parquet(file, list(dict.fromkeys(mapping.values())))
    elif fmt == "jsonl":
        names, rows = _jsonl(file)
    else:
        raise ValueError(f"unknown format {fmt!r}: use csv, parquet or jsonl")
    for target, column in mapping.items():
        if column not in names:
            raise ValueError(
                f"--map {target}={column}: no column '{column}' in {file}; "
                f"columns are: {', '.join(names)}"
            )
    job = _Job(mapping, event_name, source_name, file.name, any("." in t for t in mapping),
               anonymous_rows)
    build = {"events": _event, "items": _item, "users": _user, "edges": _edge}[kind]
    for line, row in rows:
        if isinstance(row, SourceError):
            yield row
            continue
        cells = {t: v for t, c in mapping.items() if (v := _clean(row.get(c))) is not None}
        yield build(cells, line, job)


def _check_targets(kind: str, mapping: Mapping[str, str], event_name: str | None,
                   anonymous_rows: bool = False) -> None:
    if kind not in TARGETS:
        raise ValueError(f"unknown kind {kind!r}: use events, items, users or edges")
    fixed = {t for t in TARGETS[kind] if not t.endswith(".X") and " " not in t}
    for target in mapping:
        known = target in fixed or any(
            target.startswith(p) and len(target) > len(p) for p in _PREFIXES.get(kind, ())
        )
        if kind == "users":  # any other bare name is a trait
            known = "." not in target or (target.startswith("traits.") and len(target) > 7)
        if not known:
            raise ValueError(
                f"--map {target}=...: unknown target for {kind}; "
                f"allowed: {', '.join(TARGETS[kind])}"
            )
    for target in _REQUIRED[kind]:
        if target not in mapping:
            raise ValueError(f"{kind} need --map {target}=COLUMN")
    if anonymous_rows and kind != "events":
        raise ValueError(f"--anonymous-rows is for events, not {kind}")
    if (kind == "events" and "user_id" not in mapping and "anonymous_id" not in mapping
            and not anonymous_rows):
        raise ValueError("events need --map user_id=COLUMN or --map anonymous_id=COLUMN "
                         "(or --anonymous-rows: each row its own anonymous person)")
    if kind == "events" and "event" not in mapping and not event_name:
        raise ValueError("events need an event name: --event NAME or --map event=COLUMN")


# -- readers: column names, then (line, row as a mapping, or an error) ------------------------

Rows = Iterator[tuple[int, Mapping[str, Any] | SourceError]]


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    # UTF-8, falling back to Latin-1 line by line: a stray byte should not stop an import.
    for raw in lines:
        try:
            yield raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            yield raw.decode("latin-1")


def _csv(
    file: Path, delimiter: str | None, header: bool, columns: list[str] | None
) -> tuple[list[str], Rows]:
    if not header and not columns:
        raise ValueError(f"{file}: a file without a header needs its column names (--columns)")
    with open_binary(file) as stream:
        first = next(_decoded(stream), "")
    if delimiter is None:
        delimiter = "\t" if "\t" in first else ","
    if len(delimiter) != 1:
        raise ValueError(f"delimiter must be one character, got {delimiter!r}")
    # Tab-separated files do not quote (Last.fm has names like "Weird Al" Yankovic).
    tsv = delimiter == "\t"
    if columns:  # given names win over a header line, which is then skipped
        names = [c.strip() for c in columns]
    else:
        names = [c.strip() for c in next(csv.reader([first], delimiter=delimiter), [])]

    def rows() -> Rows:
        with open_binary(file) as stream:
            reader = csv.reader(
                _decoded(stream),
                delimiter=delimiter,
                quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL,
            )
            if header:
                next(reader, None)
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # a NUL byte or an over-long field: skip the line
                    yield reader.line_num, SourceError(reader.line_num, file.name, str(exc))
                    continue
                if not values or values == [""]:
                    continue
                if len(values) != len(names):
                    reason = f"expected {len(names)} fields, found {len(values)}"
                    yield reader.line_num, SourceError(reader.line_num, file.name, reason)
                else:
                    yield reader.line_num, dict(zip(names, values, strict=True))

    return names, rows()


def _parquet(file: Path, wanted: list[str]) -> tuple[list[str], Rows]:
    import pyarrow.parquet as pq

    names = pq.ParquetFile(file).schema_arrow.names

    def rows() -> Rows:
        start = 1  # rows numbered from 1; a parquet file has no header line
        for batch in pq.ParquetFile(file).iter_batches(batch_size=65_536, columns=wanted):
            yield from enumerate(batch.to_pylist(), start)
            start += batch.num_rows

    return names, rows()


def _jsonl(file: Path) -> tuple[list[str], Rows]:
    names: dict[str, None] = {}
    with open_binary(file) as stream:
        for raw in islice(stream, _JSONL_SCAN):
            try:
                obj = orjson.loads(raw) if raw.strip() else None
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                names.update(dict.fromkeys(obj))

    def rows() -> Rows:
        with open_binary(file) as stream:
            for line, raw in enumerate(stream, 1):
                if not raw.strip():
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    yield line, SourceError(line, file.name, f"malformed JSON: {exc}")
                    continue
                if isinstance(obj, dict):
                    yield line, obj
                else:
                    yield line, SourceError(line, file.name, "a row must be a JSON object")

    return list(names), rows()


# -- values ------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """None for an empty cell (blank text, null, NaN); text stripped; other values as they are."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _ident(value: Any) -> str:
    # Ids stay text as written ("007" keeps its zeros); numbers from parquet/JSON lose ".0".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    number = float(value)
    if not math.isfinite(number):
        raise ValueError
    return number


def _timestamp(value: Any) -> datetime:
    """Epoch seconds, milliseconds or microseconds (told by size), ISO-8601 text, or a date."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        number = _number(value)
    except (TypeError, ValueError):
        # Text without a zone is taken as UTC, as a server log would write it.
        return _timestamp(datetime.fromisoformat(str(value).replace(" UTC", "+00:00")))
    # Seconds until the year 5138 stay below 1e11; milliseconds since 1973 are above it.
    scale = 1e6 if abs(number) >= 1e14 else 1e3 if abs(number) >= 1e11 else 1.0
    return datetime.fromtimestamp(number / scale, tz=UTC)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError


def _count(value: Any) -> int | float:
    number = _number(value)
    return int(number) if number.is_integer() else number


_CONVERT = {
    "timestamp": _timestamp,
    "updated_at": _timestamp,
    "available": _boolean,
    "quantity": _count,
    **{t: _number for t in _NUMBERS},
}
_EXPECTED = {"timestamp": "a time", "updated_at": "a time", "available": "true or false"}


def _converted(cells: dict[str, Any], mapping: Mapping[str, str], line: int) -> SourceError | None:
    """Turn typed cells in place; the first that will not convert is the row's error."""
    for target, convert in _CONVERT.items():
        if target in cells:
            try:
                cells[target] = convert(cells[target])
            except (TypeError, ValueError, OverflowError, OSError):
                reason = f"not {_EXPECTED.get(target, 'a number')}: {cells[target]!r}"
                return SourceError(line, mapping[target], reason)
            if target in _MONEY and cells[target] < 0:
                return SourceError(line, mapping[target],
                                   f"negative {target} {cells[target]!r}: money is zero or more")
    return None


def _prefixed(cells: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {t[len(prefix) :]: v for t, v in cells.items() if t.startswith(prefix)}


def _context(source_name: str) -> dict[str, Any]:
    return {"library": {"name": "tailored-import", "version": "1"}, "source": source_name}


@dataclass(frozen=True, slots=True)
class _Job:
    """What every row's builder needs besides the row."""

    mapping: Mapping[str, str]
    event_name: str | None
    source: str
    file: str
    dotted: bool  # any "prefix.X" target mapped
    anonymous_rows: bool = False  # a row without ids is an anonymous person of its own


# -- builders: one per kind --------------------------------------------------------------------


def _event(cells: dict[str, Any], line: int, job: _Job) -> SourceRecord | SourceError:
    mapping = job.mapping
    if "user_id" not in cells and "anonymous_id" not in cells:
        if not job.anonymous_rows:
            column = mapping.get("user_id") or mapping["anonymous_id"]
            return SourceError(line, column, "no user id or anonymous id in this row")
        cells["anonymous_id"] = "row-" + stable_message_id(job.source, job.file, line, "person")
    name = cells.get("event", job.event_name)
    if not name:
        return SourceError(line, mapping.get("event", "--event"), "no event name in this row")
    if error := _converted(cells, mapping, line):
        return error
    props = {"product_id": _ident(cells["item_id"])} if "item_id" in cells else {}
    props |= {t: cells[t] for t in ("value", "rating", "quantity", "price") if t in cells}
    context = _context(job.source)
    if job.dotted:
        props |= _prefixed(cells, "properties.")
        context |= _prefixed(cells, "context.")
        if traits := _prefixed(cells, "traits."):
            # Segment keeps a track event's user traits in its context.
            context["traits"] = traits
    data: dict[str, Any] = {"type": "track", "event": str(name)}
    if "user_id" in cells:
        data["userId"] = _ident(cells["user_id"])
    if "anonymous_id" in cells:
        data["anonymousId"] = _ident(cells["anonymous_id"])
    data["messageId"] = (
        _ident(cells["message_id"])
        if "message_id" in cells
        else stable_message_id(job.source, job.file, line)
    )
    if "timestamp" in cells:
        data["timestamp"] = cells["timestamp"]
    data |= {"properties": props, "context": context}
    return SourceRecord("event", data, line)


def _item(cells: dict[str, Any], line: int, job: _Job) -> SourceRecord | SourceError:
    mapping = job.mapping
    if "item_id" not in cells:
        return SourceError(line, mapping["item_id"], "no item id in this row")
    if error := _converted(cells, mapping, line):
        return error
    data = {t: v for t, v in cells.items() if "." not in t}
    data["item_id"] = _ident(data["item_id"])
    if attributes := _prefixed(cells, "attributes."):
        data["attributes"] = attributes
    return SourceRecord("item", data, line)


def _user(cells: dict[str, Any], line: int, job: _Job) -> SourceRecord | SourceError:
    mapping = job.mapping
    if "user_id" not in cells:
        return SourceError(line, mapping["user_id"], "no user id in this row")
    user = _ident(cells.pop("user_id"))
    traits = {t.removeprefix("traits."): v for t, v in cells.items()}
    stamp = sorted(f"{k}={v}" for k, v in traits.items())
    data = {
        "type": "identify",
        "userId": user,
        "traits": traits,
        "messageId": stable_message_id(job.source, "user", user, *stamp),
        "context": _context(job.source),
    }
    return SourceRecord("event", data, line)


def _edge(cells: dict[str, Any], line: int, job: _Job) -> SourceRecord | SourceError:
    mapping = job.mapping
    for end in ("src", "dst"):
        if end not in cells:
            return SourceError(line, mapping[end], f"no {end} in this row")
    if error := _converted(cells, mapping, line):
        return error
    data = {"src": _ident(cells["src"]), "dst": _ident(cells["dst"])}
    if "kind" in cells:
        data["kind"] = str(cells["kind"]).lower()
    if "weight" in cells:
        data["weight"] = cells["weight"]
    return SourceRecord("edge", data, line)
