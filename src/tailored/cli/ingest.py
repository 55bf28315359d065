"""``tailored ingest`` and ``tailored import``: every file source through one pipeline."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli.state import emit, progress, state_of
from tailored.errors import InvalidInput
from tailored.ingest import Ingestor, IngestReport, open_binary, read_jsonl
from tailored.ingest.sources.files import guard_corrupt
from tailored.ingest.sources.records import SourceError, SourceRecord, SourceSkip

__all__ = ["register"]

Records = Iterable[SourceRecord | SourceError | SourceSkip]

StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="Abort with nothing written if any row is rejected.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
PrefixOpt = Annotated[str, typer.Option(
    "--id-prefix", help="Put before every user and item id, to keep data sets apart.")]


def _primed(records: Records, name: str) -> Iterator[SourceRecord | SourceError | SourceSkip]:
    """Start the reader, so a problem with the file as a whole (a wrong layout, an unknown
    mapped column, a corrupt file) is reported as bad input before anything is written."""
    it = iter(guard_corrupt(records, name))
    try:
        first = next(it)
    except StopIteration:
        return iter(())
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return itertools.chain([first], it)


def _run(ctx: typer.Context, records: Records, what: str, source: str | Path, strict: bool,
         as_json: bool, extra: dict[str, object] | None = None) -> IngestReport:
    state = state_of(ctx)
    # The source first: a file that is wrong as a whole leaves no new, empty store behind.
    primed = _primed(records, str(source))
    ingestor = Ingestor.from_settings(state.writable_store, state.settings)
    with progress(ctx, what) as advance:
        report = ingestor.ingest(primed, strict=strict, on_progress=advance)
    data = {**report.to_dict(), **(extra or {})}

    def render(console: Console) -> None:
        table = Table(title=what, show_header=False)
        for key in ("accepted", "duplicates", "items", "edges", "profiles_created", "merges",
                    "relinks", "seconds"):
            table.add_row(key.replace("_", " "), f"{data[key]:,}")
        table.add_row("rejected", f"{len(report.rejected):,}")
        for kind, entry in report.left_out.items():
            reasons = ", ".join(f"{n:,} {r}" for r, n in entry["reasons"].items())
            table.add_row(f"left out: {kind.replace('_', ' ')}",
                          f"{entry['records']:,} ({entry['rows']:,} rows; {reasons})")
        console.print(table)
        for r in report.rejected[:20]:
            console.print(f"[red]rejected[/] line {r.index}: {r.reason}")
        if len(report.rejected) > 20:
            console.print(f"... and {len(report.rejected) - 20:,} more (use --json for all)")
        if report.rolled_back:
            console.print("[red]--strict: nothing was written[/]")

    emit(ctx, as_json, data, render)
    if report.rejected:
        raise typer.Exit(1)
    return report


def ingest_cmd(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSON Lines of Segment events (may be gzip), "
                                        "or - for standard input.")],
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Ingest Segment events from a JSON Lines file: validated, de-duplicated, stitched."""
    stream = open_binary(file)
    with stream:
        _run(ctx, read_jsonl(stream), f"ingest {file}", file, strict, as_json)


import_app = typer.Typer(help="Import real data sets and your own tables.", no_args_is_help=True)


@import_app.command("movielens")
def import_movielens(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A MovieLens folder: 100K, 1M, latest-small, "
                                         "20M, 25M or latest (files plain or .gz).")],
    id_prefix: PrefixOpt = "",
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """MovieLens ratings, users and movies (100K, 1M, latest-small, 20M, 25M layouts).

    Ratings become Product Rated events, users' demographics traits, movies items with genres
    and year.
    """
    from tailored.ingest.sources.movielens import detect_layout, read_movielens

    if not path.exists():
        raise FileNotFoundError(f"no such folder: {path}")
    try:
        layout = detect_layout(path)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    _run(ctx, read_movielens(path, id_prefix=id_prefix), f"import movielens ({layout})", path,
         strict, as_json, {"layout": layout})


@import_app.command("online-retail")
def import_online_retail(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="UCI Online Retail or Online Retail II as "
                                         ".xlsx, .csv(.gz) or .parquet.")],
    id_prefix: PrefixOpt = "",
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """UCI Online Retail (I or II) invoices, as xlsx, csv or parquet.

    Invoices become Order Completed, C-invoices Order Refunded, customers profiles with their
    country; rows without a customer stay anonymous.
    """
    from tailored.ingest.sources.online_retail import read_online_retail

    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    _run(ctx, read_online_retail(path, id_prefix=id_prefix), "import online-retail", path,
         strict, as_json)


@import_app.command("cdnow")
def import_cdnow(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CDNOW_master.txt or CDNOW_sample.txt "
                                         "(plain or .gz).")],
    id_prefix: PrefixOpt = "",
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """CDNOW purchases (Fader and Hardie): the full set or the 1/10 sample.

    Each line becomes an Order Completed event of its customer on its day, with the dollar
    value as revenue and the number of CDs as quantity.
    """
    from tailored.ingest.sources.cdnow import read_cdnow

    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    _run(ctx, read_cdnow(path, id_prefix=id_prefix), "import cdnow", path, strict, as_json)


def _table_command(fmt: Literal["csv", "parquet", "jsonl"]) -> None:
    def command(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="The file (plain or gzip-compressed).")],
        kind: Annotated[str, typer.Option(
            "--kind", help="What the rows are: events, items, users or edges.")] = "events",
        mapping: Annotated[list[str] | None, typer.Option(
            "--map", help="TARGET=COLUMN, repeatable: e.g. --map user_id=userID "
            "--map item_id=artistID --map traits.age=age.")] = None,
        event: Annotated[str | None, typer.Option(
            "--event", help="Event name for every row (events without a name column).")] = None,
        delimiter: Annotated[str | None, typer.Option(
            "--delimiter", help="Column separator (csv); tab or comma is detected.")] = None,
        header: Annotated[bool, typer.Option(
            "--header/--no-header", help="Whether the first line names the columns.")] = True,
        columns: Annotated[str | None, typer.Option(
            "--columns", help="Comma-separated column names, for files without a header.")]
            = None,
        anonymous_rows: Annotated[bool, typer.Option(
            "--anonymous-rows", help="Events: a row without a user or anonymous id is an "
            "anonymous person of its own (e.g. review corpora without user ids).")] = False,
        strict: StrictOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        from tailored.ingest.sources.tabular import parse_mapping, read_table

        if kind not in ("events", "items", "users", "edges"):
            raise typer.BadParameter("must be events, items, users or edges", param_hint="--kind")
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        try:
            parsed = parse_mapping(mapping or [])
        except ValueError as exc:
            raise InvalidInput(str(exc), field="--map") from None
        records = read_table(
            path, fmt=fmt, kind=kind, mapping=parsed,  # type: ignore[arg-type]
            delimiter=delimiter.encode().decode("unicode_escape") if delimiter else None,
            header=header, columns=columns.split(",") if columns else None,
            event_name=event, source_name=path.name, anonymous_rows=anonymous_rows,
        )
        _run(ctx, records, f"import {fmt} {path.name} as {kind}", path, strict, as_json)

    command.__doc__ = (f"Import your own {fmt} table of events, items, users or edges, naming "
                       "its columns with --map.")
    import_app.command(fmt)(command)


for _fmt in ("csv", "parquet", "jsonl"):
    _table_command(_fmt)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.add_typer(import_app, name="import")
