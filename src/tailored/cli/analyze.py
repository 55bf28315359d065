"""``tailored analyze``: behaviour, demographic and text analytics of the store's customers.

Every command runs on a snapshot (``--snapshot``, or a fresh one of the store) on DuckDB or
PostgreSQL (``--backend``), and with ``--json`` prints ``{..., "rows": [...], "seconds": x}``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from tailored.cli import analyze_customers, analyze_text
from tailored.cli.analytics_source import BackendOption, SnapshotOption, analytics_source
from tailored.cli.result_rows import render_retention, render_rows, rows_of
from tailored.cli.state import emit, state_of
from tailored.extras import require

__all__ = ["JsonOpt", "analyze_app", "register"]

analyze_app = typer.Typer(
    name="analyze", no_args_is_help=True,
    help="Behaviour, demographic and text analytics of the store's customers.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many rows.")]
PeriodOpt = Annotated[str, typer.Option("--period", help="day, week (from Monday) or month, "
                                        "in UTC.")]


def _report(ctx: typer.Context, as_json: bool, title: str, data: dict[str, Any],
            started: float, columns: list[str] | None = None) -> None:
    data["seconds"] = round(time.perf_counter() - started, 3)
    emit(ctx, as_json, data, lambda c: render_rows(c, data["rows"], title=title,
                                                   columns=columns))


@analyze_app.command("views")
def views_cmd(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="page, item or category.")] = "item",
    level: Annotated[int | None, typer.Option(
        "--level", help="One level of the category path (1 = most general); default: the "
        "whole path.")] = None,
    limit: LimitOpt = 20, backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """Views per page, item or category, and how many people viewed."""
    from tailored.analytics.behaviour import views

    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        rows = rows_of(views(source, by=by, level=level), limit=limit)
    _report(ctx, as_json, f"views by {by}", {"by": by, "rows": rows}, started)


@analyze_app.command("people")
def people_cmd(
    ctx: typer.Context, limit: LimitOpt = 20, backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None, as_json: JsonOpt = False,
) -> None:
    """Views, purchases, orders and revenue per person, the most active first."""
    from tailored.analytics.behaviour import people

    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        rows = rows_of(people(source), limit=limit)
    from tailored.store.labels import person_labels

    labels = person_labels(state_of(ctx).store, [str(r["profile_id"]) for r in rows])
    for r in rows:
        r["person"] = labels[str(r["profile_id"])]
    _report(ctx, as_json, "people", {"rows": rows}, started,
            ["profile_id", "person", "events", "page_views", "item_views", "purchases",
             "orders", "revenue"])


@analyze_app.command("sessions")
def sessions_cmd(
    ctx: typer.Context,
    gap: Annotated[float, typer.Option(
        "--gap", help="Minutes of inactivity that end a session.")] = 30.0,
    by: Annotated[str | None, typer.Option("--by", help="platform, or nothing.")] = None,
    include_server: Annotated[bool, typer.Option(
        "--include-server", help="Count back-end calls (imported history) as visits too.")
    ] = False,
    backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """Sessions: how many, how long, how many events, bounce rate (overall or per platform)."""
    from tailored.analytics.sessions import session_summary

    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        rows = rows_of(session_summary(source, gap_minutes=gap, by=by,
                                       include_server=include_server))
    _report(ctx, as_json, f"sessions ({gap:g}-minute gap)",
            {"gap_minutes": gap, "by": by, "rows": rows}, started)


@analyze_app.command("funnel")
def funnel_cmd(
    ctx: typer.Context,
    steps: Annotated[str | None, typer.Option(
        "--steps", help="Event names in order, comma-separated. Default: Product Viewed, "
        "Product Added, Checkout Started, Order Completed.")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="platform or device (of the event that entered the funnel).")] = None,
    window: Annotated[float | None, typer.Option(
        "--window", help="Days from the first step within which the others count.")] = None,
    backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """People at each step of a funnel, conversion, and median time between steps."""
    from tailored.analytics.funnels import DEFAULT_STEPS, funnel

    names = [s.strip() for s in steps.split(",")] if steps is not None else list(DEFAULT_STEPS)
    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        rows = rows_of(funnel(source, names, by=by, window_days=window))
    _report(ctx, as_json, "funnel", {"steps": names, "by": by, "window_days": window,
                                     "rows": rows}, started)


@analyze_app.command("cohorts")
def cohorts_cmd(
    ctx: typer.Context, period: PeriodOpt = "month",
    activity: Annotated[str, typer.Option(
        "--activity", help="any (any event) or order: what counts as being active.")] = "any",
    by: Annotated[str | None, typer.Option(
        "--by", help="Rows by a trait (age, gender, ...) or 'segment' instead of by start "
        "period.")] = None,
    periods: Annotated[int, typer.Option("--periods", help="Periods after the start to "
                                         "show.")] = 12,
    backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """Retention: of the people who started in a period, the share active k periods later."""
    from tailored.analytics.cohorts import retention

    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        rows = rows_of(retention(source, period=period, by=by, kind=activity,
                                 periods=periods))
    data = {"period": period, "activity": activity, "by": by, "rows": rows,
            "seconds": round(time.perf_counter() - started, 3)}
    emit(ctx, as_json, data, lambda c: render_retention(
        c, rows, label=by or "cohort",
        title=f"retention by {by or period}: share of each {'group' if by else 'cohort'} "
              f"active {period}s after their start"))


@analyze_app.command("timeseries")
def timeseries_cmd(
    ctx: typer.Context, period: PeriodOpt = "day",
    horizon: Annotated[int, typer.Option(
        "--horizon", help="Periods to forecast (Holt's damped trend).")] = 7,
    backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """Events, active people, orders and revenue per period, with a short forecast."""
    from tailored.analytics.timeseries import timeseries

    if horizon:
        require("statsmodels", "forecast")  # before the snapshot: a missing extra fails at once
    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        data = timeseries(source, period=period, horizon=horizon)
    data["seconds"] = round(time.perf_counter() - started, 3)

    def render(console: Any) -> None:
        render_rows(console, data["rows"], title=f"per {period}")
        for metric, f in data["forecast"].items():
            values = f["values"]
            console.print(f"{metric} forecast: " + (
                ", ".join(f"{v:,.1f}" for v in values) if values else f["reason"]))

    emit(ctx, as_json, data, render)


def register(app: typer.Typer) -> None:
    analyze_text.register(analyze_app)
    analyze_customers.register(analyze_app)
    app.add_typer(analyze_app)
