"""``tailored segment``: rules, lifecycle, RFM, clusters and classifiers; membership."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli import segment_models
from tailored.cli.analytics_source import (
    AsOfOption,
    BackendOption,
    IncludeAnonymousOption,
    SnapshotOption,
    analytics_source,
    parse_as_of,
)
from tailored.cli.state import emit, progress, state_of
from tailored.errors import InvalidInput

__all__ = ["register", "segment_app"]

segment_app = typer.Typer(
    name="segment", no_args_is_help=True,
    help="Segments: rules, lifecycle, RFM, clusters and classifiers; membership with history.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
NameArg = Annotated[str, typer.Argument(help="The segment's name.")]




def _warn(ctx: typer.Context, warnings: list[str]) -> None:
    """Warnings on stderr (with --json too: stdout keeps the JSON alone)."""
    for w in warnings:
        state_of(ctx).err.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)


def _sizes_table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table("segment", "size", "entered", "left", "note", title=title)
    for r in rows:
        table.add_row(r["segment"], f"{r['size']:,}", f"{r.get('entered', 0):,}",
                      f"{r.get('left', 0):,}", r.get("note", ""))
    return table


@segment_app.command("define")
def define(
    ctx: typer.Context,
    name: NameArg,
    rule: Annotated[str, typer.Option(
        "--rule", help="The rule: a .json/.yaml file or inline JSON (docs/segments.md).")],
    description: Annotated[str | None, typer.Option(
        "--description", help="What the segment is for, in words.")] = None,
    live: Annotated[bool | None, typer.Option(
        "--live/--no-live", help="Keep it current after every event and as time passes "
        "(`tailored worker`); default: as it was (a new segment: not live).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Define (or redefine) a rule segment; `segment compute NAME` fills it."""
    from tailored.segments.definitions import define_segment
    from tailored.segments.live_rules import check_live
    from tailored.segments.rules import load_rule_document, parse_rule

    doc = load_rule_document(rule)
    parsed = parse_rule(doc)  # a bad rule is refused before a new store would be created
    if live:
        check_live(parsed, name)
    data = define_segment(state_of(ctx).writable_store, name, doc, description=description,
                          live=live)
    _warn(ctx, data["warnings"])
    how = ("live: `tailored worker` keeps it current" if data["live"] else
           f"compute it with `tailored segment compute {name}`")
    emit(ctx, as_json, data, lambda c: c.print(
        f"{'redefined' if data['replaced'] else 'defined'} segment [bold]{name}[/] "
        f"({data['conditions']} condition(s)); {how}"))


@segment_app.command("live")
def live_(
    ctx: typer.Context,
    name: NameArg,
    on: Annotated[bool, typer.Option(
        "--on/--off", help="Keep the rule segment live, or stop (its members stay as they "
        "are).")],
    as_json: JsonOpt = False,
) -> None:
    """Turn live updating of an existing rule segment on or off."""
    from tailored.segments.live import set_live

    data = set_live(state_of(ctx).writable_store, name, on, now=datetime.now(UTC))
    emit(ctx, as_json, data, lambda c: c.print(
        f"segment [bold]{name}[/] is {'live' if on else 'no longer live'}"
        + (f"; {data['due']:,} people due for a first check by `tailored worker`"
           if on else "")))


@segment_app.command("compute")
def compute(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="The rule segment to compute.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Compute every rule segment.")] = False,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute rule segments for everyone (one query) and record who entered and left."""
    from tailored.segments.compute import compute_segments
    from tailored.segments.definitions import RULE_KINDS, list_segments

    store = state_of(ctx).store
    if (name is None) == (not every):
        raise InvalidInput("give a segment NAME or --all (not both)", field="name")
    names = [name] if name else [s["name"] for s in list_segments(store)
                                 if s["kind"] == "rule"]
    if name:
        from tailored.segments.definitions import get_segment

        kind = get_segment(store, name)["kind"]
        if kind not in RULE_KINDS:
            raise InvalidInput(f"segment {name!r} is a {kind} segment: its own command "
                               "computes it", field="name")
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    if names:
        with analytics_source(ctx, backend, snapshot) as source, progress(ctx, "compute"):
            results = compute_segments(store, source, names, as_of=parse_as_of(as_of))
    data = {"segments": results, "backend": backend,
            "seconds": round(time.perf_counter() - started, 3)}
    _warn(ctx, [f"segment {r['segment']}: {w}" for r in results for w in r.get("warnings", [])])
    if not names:
        data["note"] = "no rule segments defined: `tailored segment define NAME --rule ...`"
    emit(ctx, as_json, data, lambda c: c.print(
        _sizes_table(f"computed in {data['seconds']} s", results)))


@segment_app.command("lifecycle")
def lifecycle(
    ctx: typer.Context,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    include_anonymous: IncludeAnonymousOption = False,
    as_json: JsonOpt = False,
) -> None:
    """Compute and store the built-in lifecycle segments (new, active, churned, ...)."""
    from tailored.segments.lifecycle import compute_lifecycle

    started = time.perf_counter()
    with analytics_source(ctx, backend, snapshot) as source:
        snapped = time.perf_counter()
        with progress(ctx, "lifecycle"):
            result = compute_lifecycle(state_of(ctx).store, source, as_of=parse_as_of(as_of),
                                       include_anonymous=include_anonymous)
    done = time.perf_counter()
    data = {"sizes": result["sizes"], "thresholds": result["thresholds"],
            "notes": {n: r["note"] for n, r in result["segments"].items() if "note" in r},
            "entered": {n: r["entered"] for n, r in result["segments"].items()},
            "left": {n: r["left"] for n, r in result["segments"].items()},
            "customers_rule": result["customers_rule"], "excluded": result["excluded"],
            "backend": backend, "seconds": round(done - started, 3),
            "timings": {"source": round(snapped - started, 3),
                        "segments": round(done - snapped, 3)}}

    def render(c: Console) -> None:
        c.print(_sizes_table(f"lifecycle segments in {data['seconds']} s",
                             list(result["segments"].values())))
        if n := data["excluded"]["anonymous"]:
            c.print(f"{n:,} anonymous profiles left out (no user id or e-mail; "
                    "--include-anonymous takes them)")

    emit(ctx, as_json, data, render)


@segment_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every segment: kind, size and when it was last computed."""
    from tailored.segments.definitions import list_segments

    rows = list_segments(state_of(ctx).store)

    def render(c: Console) -> None:
        table = Table("segment", "kind", "size", "computed", title=f"{len(rows)} segments")
        for r in rows:
            table.add_row(r["name"], r["kind"], f"{r['size']:,}", str(r["computed_at"] or "-"))
        c.print(table)

    emit(ctx, as_json, {"segments": rows}, render)


@segment_app.command("show")
def show(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """One segment: its definition, size and times."""
    import json

    from tailored.segments.definitions import get_segment

    data = get_segment(state_of(ctx).store, name)
    emit(ctx, as_json, data, lambda c: c.print(
        f"[bold]{name}[/] ({data['kind']}) — {data['size']:,} members, computed "
        f"{data['computed_at'] or 'never'}\n{json.dumps(data['definition'], indent=2)}"))


@segment_app.command("members")
def members(
    ctx: typer.Context,
    name: NameArg,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="At most this many profile ids.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The segment's current members (profile ids)."""
    from tailored.segments.membership import current_members
    from tailored.store.labels import person_labels

    store = state_of(ctx).store
    ids = current_members(store, name)
    data: dict[str, Any] = {"segment": name, "size": len(ids), "members": ids[:limit]}
    labels = person_labels(store, data["members"])
    data["people"] = [{"profile_id": pid, "person": labels[pid]} for pid in data["members"]]
    if not ids:
        data["note"] = "the segment is empty"

    def render(c: Console) -> None:
        if not ids:
            c.print(data["note"])
            return
        shown = len(data["members"])
        table = Table(title=f"{name}: {len(ids):,} members"
                      + (f" (first {shown:,})" if shown < len(ids) else ""))
        table.add_column("profile", overflow="fold")
        table.add_column("person (user id or e-mail)", overflow="fold")
        for p in data["people"]:
            table.add_row(p["profile_id"], p["person"])
        c.print(table)

    emit(ctx, as_json, data, render)


@segment_app.command("overlaps")
def overlaps_(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(
        help="Segments to compare (default: every segment).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """How segments' current members overlap, pair by pair (count and Jaccard index)."""
    from tailored.segments.membership import overlaps

    data = overlaps(state_of(ctx).store, names or None)

    def render(c: Console) -> None:
        table = Table("a", "b", "both", "jaccard", title="overlaps")
        for p in data["pairs"]:
            if p["both"]:
                table.add_row(p["a"], p["b"], f"{p['both']:,}", f"{p['jaccard']:.3f}")
        c.print(table)

    emit(ctx, as_json, data, render)


@segment_app.command("history")
def history(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Any id of the person.")],
    as_json: JsonOpt = False,
) -> None:
    """A person's segment history: each stay with entered and left times."""
    from tailored.segments.membership import profile_segments

    store = state_of(ctx).store
    pid = store.find_profile(person)
    rows = profile_segments(store, person)
    data = {"profile_id": pid, "current": sorted({r["segment"] for r in rows if r["current"]}),
            "history": rows}

    def render(c: Console) -> None:
        table = Table("segment", "entered", "left", title=f"segments of {pid}")
        for r in rows:
            table.add_row(r["segment"], str(r["entered_at"]), str(r["left_at"] or "-"))
        c.print(table)

    emit(ctx, as_json, data, render)


@segment_app.command("check")
def check(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Any id of the person.")],
    name: NameArg,
    as_of: AsOfOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Only say whether the person is in; record nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Recompute a rule segment for one person, from the store, and update their membership."""
    from tailored.segments.compute import check_person

    data = check_person(state_of(ctx).store, name, person, as_of=parse_as_of(as_of),
                        record=not dry_run)
    verb = "is in" if data["member"] else "is not in"
    change = f" ({data['change']})" if data.get("change") else ""
    emit(ctx, as_json, data, lambda c: c.print(f"{data['profile_id']} {verb} {name}{change}"))


def register(app: typer.Typer) -> None:
    segment_models.register(segment_app)
    app.add_typer(segment_app)
