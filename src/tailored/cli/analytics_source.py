"""The options every analytics, segment and prediction command shares: which snapshot, on
which engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tailored.cli.state import progress, state_of
from tailored.errors import InvalidInput

if TYPE_CHECKING:  # the analytics engines load only for the commands that use them
    from tailored.analytics.source import Source

__all__ = ["AsOfOption", "BackendOption", "IncludeAnonymousOption", "SnapshotOption",
           "analytics_source", "parse_as_of"]

BackendOption = Annotated[str, typer.Option(
    "--backend", help="Engine the queries run on: duckdb (in process, over the snapshot's "
    "Parquet files) or postgres (the snapshot loaded into TAILORED_ANALYTICS_URL, or the "
    "store's PostgreSQL).")]
SnapshotOption = Annotated[Path | None, typer.Option(
    "--snapshot", help="A snapshot folder from `tailored export`; without it a fresh snapshot "
    "of the store is taken.")]


IncludeAnonymousOption = Annotated[bool, typer.Option(
    "--include-anonymous", help="Take anonymous profiles too (visitors and guest buyers "
    "without a user id or an e-mail); by default only identified customers, and the JSON "
    "says how many were left out (excluded.anonymous).")]


AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Use only events before this moment (ISO date or time, UTC if no zone); "
    "default: the latest event, every event counting.")]


def parse_as_of(text: str | None) -> datetime | None:
    """``--as-of`` as an aware datetime (UTC when no zone is given); None when absent."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--as-of must be an ISO date or time (2026-11-30 or "
                           f"2026-11-30T12:00:00+00:00), got {text!r}", field="as_of") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@contextmanager
def analytics_source(ctx: typer.Context, backend: str = "duckdb",
                     snapshot: Path | None = None) -> Iterator[Source]:
    """The store's data as Ibis tables on ``backend``: ``snapshot`` if given, else the
    store's own snapshot (``snapshot_dir``), first brought up to date with the store."""
    from tailored.analytics.source import opened
    from tailored.store.snapshot_files import snapshot_lock
    from tailored.store.snapshots import export_snapshot

    state = state_of(ctx)
    settings = state.settings
    url = settings.analytics_url or (
        settings.database_url if settings.database_url.startswith("postgres") else None)
    if snapshot is None:
        snapshot = settings.store_snapshot_dir()
        with progress(ctx, "snapshot") as advance:
            export_snapshot(state.store, snapshot, on_progress=advance)
    # Held while the queries run: a refresh by another command waits for them to finish.
    with snapshot_lock(snapshot, exclusive=False), opened(snapshot, backend, url=url) as source:
        yield source
