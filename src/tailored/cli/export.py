"""``tailored export``: Parquet snapshots for analytics and training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tailored.cli.state import emit, progress, state_of

__all__ = ["register"]


def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the snapshot into.")]
        = Path("snapshots/latest"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Export events, interactions, profiles, identities, items and edges to Parquet."""
    # Imported here: pyarrow's dataset module and pandas cost every command half a second.
    from tailored.store.snapshots import export_snapshot

    store = state_of(ctx).store
    with progress(ctx, "export snapshot") as advance:
        manifest = export_snapshot(store, out, on_progress=advance)
    manifest["folder"] = str(out)
    emit(ctx, as_json, manifest, lambda c: c.print(
        f"snapshot in {out}: " + ", ".join(f"{k} {v:,}" for k, v in manifest["tables"].items())))


def register(app: typer.Typer) -> None:
    app.command()(export)
