"""Input checks every analytic shares: a snapshot with data in it, and names that exist."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from tailored.analytics.source import Source
from tailored.errors import InvalidInput

__all__ = ["require_events", "suggest", "unknown_name"]


def require_events(source: Source) -> None:
    """Refuse an empty snapshot with a message saying what to do, rather than empty tables."""
    if int(source.events.count().execute()) == 0:
        raise InvalidInput(
            f"the snapshot at {source.folder} has no events: ingest or import some "
            "(`tailored ingest`, `tailored import ...`) and take a new snapshot",
            field="snapshot")


def suggest(name: str, known: Iterable[str]) -> str:
    """" (did you mean 'x' or 'y'?)" for close matches of ``name`` among ``known``, else ""."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        close = [lowered[m] for m in difflib.get_close_matches(name.lower(), lowered, n=3)]
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def unknown_name(kind: str, name: str, known: Iterable[str], *, field: str) -> InvalidInput:
    """The error for a name the data does not hold, with close matches."""
    known = sorted(set(known))
    return InvalidInput(f"unknown {kind} {name!r}: no such {kind} in the snapshot"
                        f"{suggest(name, known)}", field=field)
