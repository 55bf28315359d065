"""``tailored stats``, ``profile``, ``profiles`` and ``erase``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli.state import emit, state_of

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]


def render_stats(console: Console, data: dict[str, Any]) -> None:
    table = Table(title="Tailored store", show_header=False)
    for key in ("events", "duplicates", "profiles", "identified_profiles", "identities",
                "merges", "relinks", "items", "edges"):
        table.add_row(key.replace("_", " "), f"{data[key]:,}")
    console.print(table)
    for title, key in (("events by type", "events_by_type"),
                       ("events by platform", "events_by_platform")):
        t = Table(title=title)
        t.add_column("name")
        t.add_column("events", justify="right")
        for name, n in sorted(data[key].items(), key=lambda kv: -kv[1]):
            t.add_row(str(name), f"{n:,}")
        console.print(t)


def stats(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Counts of events by type and platform, duplicates, profiles, merges, items, edges."""
    data = state_of(ctx).store.stats()
    emit(ctx, as_json, data, lambda c: render_stats(c, data))


def profile(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(
        help="Any identity of the person: user id, anonymous id, device id, e-mail, or the "
        "profile id.")],
    merges: Annotated[bool, typer.Option(
        "--merges", help="Also list the merges and relinks that shaped this profile.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """One person: identities, devices, platforms, traits, event count, live counters and
    current segments."""
    from tailored.realtime.profile_view import with_live

    store = state_of(ctx).store
    data = with_live(store, store.profile(person))
    if merges:
        data["merges"] = store.merge_history(person)

    def render(console: Console) -> None:
        console.print(f"[bold]profile {data['profile_id']}[/] (found by {data['matched_by']}) "
                      f"— {data['event_count']:,} events, "
                      f"platforms: {', '.join(data['platforms']) or '-'}")
        t = Table(title="identities")
        t.add_column("kind")
        t.add_column("value", overflow="fold")
        for i in data["identities"]:
            t.add_row(i["kind"], i["value"])
        console.print(t)
        if data["devices"]:
            d = Table(title="devices")
            for col in ("device", "platform", "events", "last seen"):
                d.add_column(col, overflow="fold")
            for dev in data["devices"]:
                d.add_row(dev["device_id"], dev["platform"], str(dev["events"]), dev["last_seen"])
            console.print(d)
        if data["traits"]:
            tr = Table(title="traits")
            tr.add_column("trait", overflow="fold")
            tr.add_column("value", overflow="fold")
            for k, v in sorted(data["traits"].items()):
                tr.add_row(k, str(v))
            console.print(tr)
        if data["live"]:
            live = data["live"]
            console.print(f"live: {live['event_count']:,} events, {live['sessions']:,} "
                          f"sessions, {live['orders']:,} orders, revenue "
                          f"{live['revenue']:,.2f}, cart: {', '.join(live['cart']) or '-'}")
        if data["segments"]:
            console.print(f"segments: {', '.join(data['segments'])}")
        for m in data.get("merges", []):
            console.print(f"{m['event_time']} {m['kind']} {m['from_profile']} → "
                          f"{m['into_profile']} via {m['identity']['kind']} "
                          f"{m['identity']['value']} ({m['cause']} {m['message_id']})")

    emit(ctx, as_json, data, render)


def profiles(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many profiles.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The busiest profiles first."""
    rows = state_of(ctx).store.profiles(limit)

    def render(console: Console) -> None:
        from tailored.store.labels import person_labels

        labels = person_labels(state_of(ctx).store, [p["profile_id"] for p in rows])
        t = Table(title=f"busiest {len(rows)} profiles")
        for col in ("profile", "person (user id or e-mail)", "identities", "events"):
            t.add_column(col, overflow="fold")
        for p in rows:
            t.add_row(p["profile_id"], labels[p["profile_id"]],
                      str(len(p["identities"])), f"{p['event_count']:,}")
        console.print(t)

    emit(ctx, as_json, {"profiles": rows}, render)


def erase(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(
        help="Any identity of the person (user id, e-mail, anonymous id, device id), or the "
        "profile id. An e-mail finds every profile holding it, as an identity or a trait.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    all_matches: Annotated[bool, typer.Option(
        "--all-matches", help="When several people hold the id, erase them all (without it, "
        "nothing is erased and they are listed).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase people completely: events, identities, profiles, merges, social edges, segment
    history."""
    store = state_of(ctx).store
    matches = store.people_to_erase(person, all_matches=all_matches)
    named = ", ".join(m.describe() for m in matches)
    if not yes and not typer.confirm(
            f"Erase {named} and all their history?", err=True):
        raise typer.Exit(1)
    from tailored.privacy import erase_everywhere

    data, forgotten = erase_everywhere(store, state_of(ctx).settings, person,
                                       all_matches=all_matches)
    for warning in data.get("warnings", []):
        state_of(ctx).err.print(f"warning: {warning}", markup=False, soft_wrap=True)

    def render(console: Console) -> None:
        for e in data["erased"]:
            rows = ", ".join(f"{t} {n}" for t, n in e["rows"].items() if n)
            console.print(f"erased {e['profile_id']}: {rows or 'no rows'}")
        console.print(f"matched by {data['matched_by']}")
        if forgotten:
            console.print(f"forgotten by the trained models {', '.join(forgotten)}")

    emit(ctx, as_json, data, render)


def register(app: typer.Typer) -> None:
    app.command()(stats)
    app.command()(profile)
    app.command()(profiles)
    app.command()(erase)
