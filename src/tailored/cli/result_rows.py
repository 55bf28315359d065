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

__all__ = ["duration_text", "render_retention", "render_rows", "rows_of"]

# Columns whose values are shares of 1, shown as percentages.
_RATE_NAMES = frozenset({"share", "conversion", "retention"})
_RATE_SUFFIXES = ("_rate", "_share", "_conversion")


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


def duration_text(seconds: float) -> str:
    """A duration as people say it: "42 s", "3 min 20 s", "5 h 12 min", "14 d 12 h"."""
    s = abs(float(seconds))
    sign = "-" if seconds < 0 else ""
    if s < 60:
        return f"{sign}{s:.0f} s" if s >= 10 or s == int(s) else f"{sign}{s:.1f} s"
    minutes, sec = divmod(round(s), 60)
    if minutes < 60:
        return f"{sign}{minutes} min {sec} s" if sec else f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days:,} d {hours} h" if hours else f"{sign}{days:,} d"


def _kind(column: str) -> str:
    if column in _RATE_NAMES or column.endswith(_RATE_SUFFIXES):
        return "rate"
    if column.endswith("_seconds"):
        return "duration"
    return "plain"


def _header(column: str) -> str:
    """``median_duration_seconds`` → "median duration"; ``bounce_rate`` → "bounce rate"."""
    if column == "median_seconds":
        return "median time"
    return column.removesuffix("_seconds").replace("_", " ")


def _cell(value: Any, kind: str = "plain") -> str:
    if value is None:
        return "-"
    if kind == "rate" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.1%}"
    if kind == "duration" and isinstance(value, int | float) and not isinstance(value, bool):
        return duration_text(value)
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_rows(console: Console, rows: Sequence[dict[str, Any]], *, title: str,
                columns: Sequence[str] | None = None) -> None:
    """Print ``rows`` as a table (``columns`` in order, default: all of the first row's):
    shares as percentages, ``*_seconds`` as durations, and nothing cut — a value too wide
    for the terminal folds onto the next line instead of ending in "…"."""
    if not rows:
        console.print(f"{title}: no rows")
        return
    cols = list(columns or rows[0])
    kinds = [_kind(c) for c in cols]
    table = Table(title=title)
    for c in cols:
        table.add_column(_header(c), overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row.get(c), k) for c, k in zip(cols, kinds, strict=True)])
    console.print(table)


def render_retention(console: Console, rows: Sequence[dict[str, Any]], *, title: str,
                     label: str = "cohort") -> None:
    """Retention rows (``cohort``, ``period``, ``size``, ``active``, ``retention``) as the
    usual triangle: a row per cohort with its size, a column per period since the start."""
    if not rows:
        console.print(f"{title}: no rows")
        return
    cohorts: dict[str, dict[str, Any]] = {}
    periods: set[int] = set()
    for r in rows:
        entry = cohorts.setdefault(str(r["cohort"]), {"size": r["size"], "by": {}})
        entry["by"][int(r["period"])] = r["retention"]
        periods.add(int(r["period"]))
    table = Table(title=title)
    table.add_column(label, overflow="fold")
    table.add_column("people", justify="right")
    for k in sorted(periods):
        table.add_column(f"+{k}", justify="right")
    for cohort, entry in cohorts.items():
        table.add_row(cohort, f"{entry['size']:,}", *[
            "" if entry["by"].get(k) is None else f"{entry['by'][k]:.0%}"
            for k in sorted(periods)])
    console.print(table)
