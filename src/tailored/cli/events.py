"""``tailored events``: the event catalogue."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli.state import emit, state_of

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]


def _types(types: dict[str, int]) -> str:
    """``string`` alone, or ``string 12, number 3`` when a property comes in several types."""
    if len(types) == 1:
        return next(iter(types))
    return ", ".join(f"{t} {n:,}" for t, n in types.items())


def render_catalogue(console: Console, data: dict[str, Any]) -> None:
    if not data["events"]:
        console.print("no events yet: send some (`tailored serve`, `tailored ingest FILE`)")
        return
    table = Table("event", "type", "events", "platforms", "first seen", "last seen",
                  title=f"{data['names']:,} event names, {data['total']:,} events")
    for e in data["events"]:
        table.add_row(e["event"], e["type"], f"{e['count']:,}",
                      ", ".join(f"{p} {n:,}" for p, n in e["platforms"].items()),
                      (e["first_seen"] or "-")[:10], (e["last_seen"] or "-")[:10])
    console.print(table)
    props = Table("event", "property", "type", "events", title="properties seen")
    for e in data["events"]:
        for i, (k, p) in enumerate(e["properties"].items()):
            props.add_row(e["event"] if i == 0 else "", k, _types(p["types"]),
                          f"{p['events']:,}", end_section=i == len(e["properties"]) - 1)
    if props.row_count:
        console.print(props)


def events(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Each event name: count, platforms, first/last seen, properties with their types."""
    from tailored.store.event_catalogue import event_catalogue

    data = event_catalogue(state_of(ctx).store)
    emit(ctx, as_json, data, lambda c: render_catalogue(c, data))


def register(app: typer.Typer) -> None:
    app.command()(events)
