"""Calendar periods for time series, cohorts and "over time" breakdowns, in UTC.

Both engines truncate a ``timestamptz`` in the session time zone; Ibis opens DuckDB and
PostgreSQL sessions in UTC, so a day, week (starting Monday) or month is a UTC one.
"""

from __future__ import annotations

import difflib

import ibis.expr.types as ir

from tailored.errors import InvalidInput

__all__ = ["PERIODS", "check_period", "period_index", "period_start"]

PERIODS = ("day", "week", "month")
_UNITS = {"day": "D", "week": "W", "month": "M"}


def check_period(period: str, *, field: str = "period") -> str:
    """``period`` if it is one of :data:`PERIODS`; otherwise a clear :class:`InvalidInput`."""
    if period not in PERIODS:
        close = difflib.get_close_matches(str(period), PERIODS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidInput(f"{field} must be one of {', '.join(PERIODS)}, got {period!r}{hint}",
                           field=field)
    return period


def period_start(ts: ir.TimestampValue, period: str) -> ir.TimestampValue:
    """The start of the UTC day, Monday-based week or month that ``ts`` falls in."""
    return ts.truncate(_UNITS[check_period(period)])


def period_index(start: ir.TimestampValue, at: ir.TimestampValue, period: str
                 ) -> ir.IntegerValue:
    """Whole periods from the one ``start`` falls in to the one ``at`` falls in (0 = same)."""
    check_period(period)
    if period == "month":
        return ((at.year() - start.year()) * 12 + at.month() - start.month()).cast("int64")
    days = 7 if period == "week" else 1
    # Both are truncated first, so the difference is an exact multiple of the period; the
    # rounding only absorbs floating error in epoch seconds.
    seconds = (period_start(at, period).epoch_seconds()
               - period_start(start, period).epoch_seconds())
    return (seconds / (86_400 * days)).round().cast("int64")
