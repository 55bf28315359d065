"""Query results as rows: JSON-ready dicts from an Ibis table, and a Rich table of them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["render_rows", "rows_of"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_of(expr: ir.Table, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of ``expr`` (its first ``limit``) as plain dicts: NaN as None, times as ISO
    text."""
    table = (expr.limit(limit) if limit is not None else expr).to_pyarrow()
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_rows(console: Console, rows: Sequence[dict[str, Any]], *, title: str,
                columns: Sequence[str] | None = None) -> None:
    """Print ``rows`` as a table (``columns`` in order, default: all of the first row's)."""
    if not rows:
        console.print(f"{title}: no rows")
        return
    cols = list(columns or rows[0])
    table = Table(*cols, title=title)
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in cols])
    console.print(table)
