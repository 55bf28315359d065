"""Trait times: when each trait was last set, compared as times and stored as text.

Traits merge last-write-wins by event time, trait by trait. The times live in a JSON
column, so they are stored as ISO-8601 text; they are always compared as datetimes (text
compared wrongly for years before 1000, which ``strftime`` wrote without padding).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_trait_time", "trait_time_text"]

_NEVER = datetime.min.replace(tzinfo=UTC)


def trait_time_text(t: datetime) -> str:
    """The stored form: UTC, four-digit year, microseconds, ``Z``."""
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return t.isoformat(timespec="microseconds")[:26] + "Z"


def parse_trait_time(text: object) -> datetime:
    """A stored trait time as an aware datetime; anything unreadable counts as never."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if not isinstance(text, str) or not text:
        return _NEVER
    year, dash, rest = text.partition("-")
    if dash and len(year) < 4 and year.isdigit():
        text = year.zfill(4) + dash + rest  # written unpadded by older versions
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return _NEVER
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
