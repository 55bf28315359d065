"""Where analytics run: the snapshot's tables as Ibis expressions on DuckDB or PostgreSQL.

Every analytic, segment rule and feature is written once against :class:`Source` — a set of
Ibis tables named as in the snapshot (events, interactions, profiles, identities, items,
edges) — and runs unchanged on either engine:

* ``duckdb`` (the default): an in-process DuckDB reading the snapshot's Parquet files in
  place, nothing copied.
* ``postgres``: the same snapshot loaded into a schema of a PostgreSQL database (``COPY``
  of CSV written by Arrow, one transaction), and the queries run there. By default each
  run gets a schema of its own, dropped when it closes, so two runs on one database never
  wait on each other's tables.

Nested documents (traits, properties, context) are JSON text in both; :func:`trait` reads
one field of them the same way on both engines.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tailored.errors import InvalidInput
from tailored.extras import require
from tailored.store.snapshot_files import PARTITIONED, table_files, table_glob
from tailored.store.snapshots import SCHEMAS, SNAPSHOT_TABLES

__all__ = ["BACKENDS", "NUMBER_PATTERN", "Source", "json_pointer", "numeric", "open_postgres",
           "open_snapshot", "opened", "trait"]

BACKENDS = ("duckdb", "postgres")
# Text that is a number in JSON's grammar (what a numeric trait or property extracts to).
NUMBER_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TEMP_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_TEMP_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}_[0-9a-f]{12}$")


@dataclass
class Source:
    """The snapshot's tables on one engine. ``backend`` is ``"duckdb"`` or ``"postgres"``."""

    con: Any
    backend: str
    folder: Path
    _tables: dict[str, ir.Table]
    _drop_schema: str | None = None

    def table(self, name: str) -> ir.Table:
        if name not in self._tables:
            raise InvalidInput(f"no table {name!r} in the snapshot; tables: "
                               f"{', '.join(self._tables)}", field="table")
        return self._tables[name]

    @property
    def events(self) -> ir.Table:
        return self._tables["events"]

    @property
    def interactions(self) -> ir.Table:
        return self._tables["interactions"]

    @property
    def profiles(self) -> ir.Table:
        return self._tables["profiles"]

    @property
    def items(self) -> ir.Table:
        return self._tables["items"]

    @property
    def edges(self) -> ir.Table:
        return self._tables["edges"]

    def temporary_table(self, table: ir.Table, prefix: str) -> tuple[str, ir.Table]:
        """``table`` materialised as a temporary table with a fresh unique name (returned
        with it); drop it by that name with :meth:`drop_temporary`."""
        if not _TEMP_PREFIX.match(prefix):
            raise ValueError(f"temporary table prefix must be a plain SQL name: {prefix!r}")
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        return name, self.con.create_table(name, table, temp=True)

    def drop_temporary(self, name: str) -> None:
        """Drop the temporary table ``name`` made by :meth:`temporary_table` — only a
        temporary one: on PostgreSQL through ``pg_temp``, so a real table of the same name
        on the search path is never touched."""
        if not _TEMP_NAME.match(name):
            raise ValueError(f"not a temporary table name: {name!r}")
        # Plain SQL: Ibis 12's drop_table renders no table name for DuckDB temp tables.
        qualified = f'pg_temp."{name}"' if self.backend == "postgres" else f'temp."{name}"'
        result = self.con.raw_sql(f"DROP TABLE IF EXISTS {qualified}")
        if self.backend == "postgres":  # a cursor there; on DuckDB, the connection itself
            result.close()

    def close(self) -> None:
        if self._drop_schema is not None:
            self.con.raw_sql(f"DROP SCHEMA IF EXISTS {self._drop_schema} CASCADE")
        self.con.disconnect()


def _check_snapshot(folder: Path) -> None:
    folder = Path(folder)
    if not (folder / "manifest.json").exists():
        raise InvalidInput(f"{folder} is not a snapshot (no manifest.json): run "
                           "`tailored export --out FOLDER` first", field="snapshot")


def _present(folder: Path) -> list[str]:
    """The snapshot's tables: partitioned ones always (maybe empty), the others when their
    file is there."""
    return [n for n in SNAPSHOT_TABLES
            if n in PARTITIONED or (Path(folder) / f"{n}.parquet").exists()]


def open_snapshot(folder: Path) -> Source:
    """The snapshot in ``folder`` on an in-process DuckDB (its Parquet files read in place)."""
    _check_snapshot(folder)
    con = ibis.duckdb.connect()
    # A day-partitioned table is hundreds of files, each query reading their footers again
    # unless DuckDB keeps them.
    con.raw_sql("SET parquet_metadata_cache = true")
    tables = {}
    for name in _present(folder):
        pattern = table_glob(folder, name)
        if pattern is None:  # no events yet: an empty table of the right shape
            tables[name] = con.create_table(name, schema=ibis.Schema.from_pyarrow(
                SCHEMAS[name]), temp=True)
        else:
            # The day is in the folder names; the tables keep the snapshot's own columns.
            tables[name] = con.read_parquet(pattern, table_name=name,
                                            hive_partitioning=False)
    return Source(con=con, backend="duckdb", folder=Path(folder), _tables=tables)


_PG_TYPES = {pa.string(): "text", pa.float64(): "double precision", pa.bool_(): "boolean",
             pa.timestamp("us", tz="UTC"): "timestamptz", pa.list_(pa.string()): "text[]"}


def _pg_url(url: str) -> str:
    """A psycopg URL from a SQLAlchemy one (``postgresql+psycopg://`` → ``postgresql://``)."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def _csv_batch(batch: pa.RecordBatch, schema: pa.Schema) -> bytes:
    """A batch as CSV PostgreSQL's COPY reads: NULL unquoted and empty, arrays as literals."""
    columns = []
    for f in schema:
        if f.name not in batch.schema.names:  # a column newer than the snapshot: NULL
            columns.append(pa.nulls(batch.num_rows, pa.string()))
            continue
        col = batch.column(f.name)
        if pa.types.is_list(f.type):
            col = pa.array([None if v is None else
                            "{" + ",".join('"' + str(x).replace("\\", "\\\\")
                                           .replace('"', '\\"') + '"' for x in v) + "}"
                            for v in col.to_pylist()], type=pa.string())
        columns.append(col)
    out = pa.BufferOutputStream()
    pa_csv.write_csv(pa.Table.from_arrays(columns, names=schema.names), out,
                     write_options=pa_csv.WriteOptions(include_header=False))
    return out.getvalue().to_pybytes()


def open_postgres(folder: Path, url: str, *, schema: str | None = None) -> Source:
    """Load the snapshot in ``folder`` into ``schema`` of the PostgreSQL at ``url`` and
    return its tables there. Without ``schema``, a new schema of its own, dropped when the
    source closes; with one, its tables are replaced (and kept)."""
    psycopg = require("psycopg", "postgres")
    _check_snapshot(folder)
    temporary = schema is None
    schema = schema or f"tailored_analytics_{uuid.uuid4().hex[:12]}"
    if not _SCHEMA_NAME.match(schema):
        raise InvalidInput(f"schema must be a plain lower-case SQL name, got {schema!r}",
                           field="schema")
    if not url.startswith(("postgresql", "postgres")):
        raise InvalidInput(f"the postgres backend needs a postgresql:// URL, got {url!r}",
                           field="analytics_url")
    url = _pg_url(url)
    present = _present(folder)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name in present:
            schema_ = SCHEMAS[name]
            cols = ", ".join(f'"{f.name}" {_PG_TYPES[f.type]}' for f in schema_)
            cur.execute(f'DROP TABLE IF EXISTS {schema}."{name}"')
            cur.execute(f'CREATE TABLE {schema}."{name}" ({cols})')
            names = ", ".join(f'"{f.name}"' for f in schema_)
            with cur.copy(f'COPY {schema}."{name}" ({names}) FROM STDIN '
                          "WITH (FORMAT csv)") as copy:
                for path in table_files(folder, name):
                    for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
                        copy.write(_csv_batch(batch, schema_))
            cur.execute(f'ANALYZE {schema}."{name}"')
    parts = re.match(r"^postgresql://(?:(?P<user>[^:@/]*)(?::(?P<password>[^@/]*))?@)?"
                     r"(?P<host>[^:/?]*)?(?::(?P<port>\d+))?/(?P<database>[^?]*)", url)
    if parts is None:
        raise InvalidInput(f"cannot read the PostgreSQL URL {url!r}", field="analytics_url")
    con = ibis.postgres.connect(
        user=parts["user"] or None, password=parts["password"] or None,
        host=parts["host"] or "localhost", port=int(parts["port"] or 5432),
        database=parts["database"] or None)
    tables = {n: con.table(n, database=schema) for n in present}
    return Source(con=con, backend="postgres", folder=Path(folder), _tables=tables,
                  _drop_schema=schema if temporary else None)


@contextmanager
def opened(folder: Path, backend: str = "duckdb", *, url: str | None = None,
           schema: str | None = None) -> Iterator[Source]:
    """The snapshot on ``backend``, closed afterwards."""
    if backend not in BACKENDS:
        raise InvalidInput(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}",
                           field="backend")
    if backend == "postgres":
        if url is None:
            raise InvalidInput("the postgres backend needs a PostgreSQL URL (--analytics-url "
                               "or TAILORED_ANALYTICS_URL, or a PostgreSQL store)",
                               field="analytics_url")
        source = open_postgres(folder, url, schema=schema)
    else:
        source = open_snapshot(folder)
    try:
        yield source
    finally:
        source.close()


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duckdb_field(doc: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's own JSON text extraction."""


@ibis.udf.scalar.builtin(name="json_extract_path_text")
def _postgres_field(doc: dt.JSON, key: str) -> str:  # type: ignore[empty-body]
    """PostgreSQL's own JSON text extraction."""


def trait(source: Source, column: ir.StringValue, key: str) -> ir.StringValue:
    """One top-level field of a JSON-text column (traits, properties, context) as text,
    NULL where it is absent: the same meaning on DuckDB and PostgreSQL.

    (Ibis's generic JSON accessors compile to SQL PostgreSQL rejects, so each engine's own
    function is called.)
    """
    if source.backend == "postgres":
        return _postgres_field(column.cast("json"), key)
    return _duckdb_field(column, json_pointer(key))


def json_pointer(key: str) -> str:
    """The JSON Pointer (RFC 6901) to a top-level ``key``, as DuckDB's JSON functions take it.

    A pointer escapes only ``~`` and ``/``; every other character, backslashes and quotes
    included, stands for itself — unlike a ``$."key"`` path, whose quoting DuckDB's parser
    reads without escapes (a key ending in a backslash cannot be written in one at all).
    """
    return "/" + key.replace("~", "~0").replace("/", "~1")


def numeric(text: ir.StringValue) -> ir.FloatingValue:
    """The number a JSON field's text holds, NULL when it is not a number.

    (A guarded cast rather than TRY_CAST, which PostgreSQL lacks.)"""
    return ibis.cases((text.re_search(NUMBER_PATTERN), text.cast("float64")),
                      else_=ibis.null("float64"))
