"""The options every analytics, segment and prediction command shares: which snapshot, on
which engine."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from tailored.analytics.source import Source, opened
from tailored.cli.state import progress, state_of

__all__ = ["BackendOption", "SnapshotOption", "analytics_source"]

BackendOption = Annotated[str, typer.Option(
    "--backend", help="Engine the queries run on: duckdb (in process, over the snapshot's "
    "Parquet files) or postgres (the snapshot loaded into TAILORED_ANALYTICS_URL, or the "
    "store's PostgreSQL).")]
SnapshotOption = Annotated[Path | None, typer.Option(
    "--snapshot", help="A snapshot folder from `tailored export`; without it a fresh snapshot "
    "of the store is taken.")]


@contextmanager
def analytics_source(ctx: typer.Context, backend: str = "duckdb",
                     snapshot: Path | None = None) -> Iterator[Source]:
    """The store's data as Ibis tables on ``backend``: ``snapshot`` if given, else a fresh
    snapshot of the store in a temporary folder (removed afterwards)."""
    from tailored.store.snapshots import export_snapshot

    state = state_of(ctx)
    settings = state.settings
    url = settings.analytics_url or (
        settings.database_url if settings.database_url.startswith("postgres") else None)
    if snapshot is not None:
        with opened(snapshot, backend, url=url) as source:
            yield source
        return
    with tempfile.TemporaryDirectory(prefix="tailored-snapshot-") as tmp:
        with progress(ctx, "snapshot") as advance:
            export_snapshot(state.store, Path(tmp), on_progress=advance)
        with opened(Path(tmp), backend, url=url) as source:
            yield source
