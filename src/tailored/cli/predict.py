"""``tailored predict``: predictions: purchase propensity, churn and customer lifetime value."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli.analytics_source import (
    BackendOption,
    IncludeAnonymousOption,
    SnapshotOption,
    analytics_source,
)
from tailored.cli.state import emit, progress, state_of
from tailored.errors import InvalidInput

__all__ = ["predict_app", "register"]

predict_app = typer.Typer(
    name="predict", no_args_is_help=True,
    help="Predictions: purchase propensity, churn and customer lifetime value.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
WriteOpt = Annotated[bool, typer.Option(
    "--write/--no-write", help="Write the scores to the profiles' traits (default: write).")]


def _date(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidInput(f"{field.replace('_', ' ')} must be a date YYYY-MM-DD, got {text!r}",
                           field=field) from None


def _write(ctx: typer.Context, traits: dict[str, dict[str, Any]], what: str) -> int:
    from tailored.store.traits import write_traits

    with progress(ctx, f"write {what} to profiles"):
        return write_traits(state_of(ctx).store, traits)


@predict_app.command("clv")
def clv_cmd(
    ctx: typer.Context,
    calibration_end: Annotated[str, typer.Option(
        "--calibration-end", help="Last day (YYYY-MM-DD) of the purchases the model learns "
        "from.")],
    holdout_end: Annotated[str | None, typer.Option(
        "--holdout-end", help="Last day of the holdout period the model is checked on.")] = None,
    time_unit: Annotated[str, typer.Option(
        "--time-unit", help="days or weeks: the unit recency, T and parameters are in.")]
        = "weeks",
    model: Annotated[str, typer.Option(
        "--model", help="Purchase-count model: bg-nbd, mbg-nbd, pareto-nbd, or auto (bg-nbd "
        "or mbg-nbd, whichever errs less on the holdout period; needs --holdout-end).")]
        = "bg-nbd",
    months: Annotated[int, typer.Option(
        "--months", help="Months of future value in the clv trait.")] = 12,
    discount_rate: Annotated[float, typer.Option(
        "--discount-rate", help="Monthly discount rate of future value.")] = 0.01,
    fit_method: Annotated[str, typer.Option(
        "--fit-method", help="map (maximum likelihood, seconds) or mcmc (posterior, "
        "minutes).")] = "map",
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    include_anonymous: IncludeAnonymousOption = False,
    write: WriteOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Customer lifetime value: BG/NBD (or MBG/NBD, Pareto/NBD) and Gamma-Gamma.

    Fitted on purchase days up to --calibration-end, checked on the holdout period up to
    --holdout-end; every customer's clv, expected_purchases and p_alive are written to their
    traits. BG/NBD holds every one-time buyer alive (p_alive = 1); MBG/NBD lets them lapse.
    """
    from tailored.predict.lifetime import run_lifetime_value
    from tailored.predict.purchases import TIME_UNITS

    if time_unit not in TIME_UNITS:
        raise InvalidInput(f"time unit must be one of {', '.join(TIME_UNITS)}, got "
                           f"{time_unit!r}", field="time_unit")
    cal_end = _date(calibration_end, "calibration_end")
    hold_end = _date(holdout_end, "holdout_end")
    assert cal_end is not None
    if hold_end is not None and hold_end <= cal_end:
        raise InvalidInput(f"holdout end {hold_end} is not after the calibration end {cal_end}",
                           field="holdout_end")
    if model == "auto" and hold_end is None:
        raise InvalidInput("--model auto chooses the model by its error on the holdout "
                           "period: give --holdout-end", field="holdout_end")
    with analytics_source(ctx, backend, snapshot) as source, progress(ctx, f"fit {model}"):
        report, traits = run_lifetime_value(
            source, calibration_end=cal_end, holdout_end=hold_end, time_unit=time_unit,
            model=model, months=months, discount_rate=discount_rate, fit_method=fit_method,
            include_anonymous=include_anonymous)
    report["traits_written"] = _write(ctx, traits, "clv") if write else 0

    def render(console: Console) -> None:
        from tailored.store.labels import person_labels

        people = person_labels(state_of(ctx).store,
                               [row["profile_id"] for row in report["top_customers"]])
        _render_clv(console, report, time_unit, people)

    emit(ctx, as_json, report, render)


def _render_clv(console: Console, report: dict[str, Any], time_unit: str,
                people: dict[str, str]) -> None:
    """The most valuable customers first (by user id or masked e-mail beside the profile
    id); how the model got there after."""
    c = report["clv"]
    top = Table(title=f"Top {len(report['top_customers'])} customers by expected value, "
                f"next {c['months']} months (as of {c['as_of']})")
    for column in ("profile", "person", "CLV", "purchases expected", "p alive",
                   "purchase days so far"):
        top.add_column(column, justify="left" if column in ("profile", "person")
                       else "right", overflow="fold")
    for row in report["top_customers"]:
        who = people.get(row["profile_id"]) or row["user_id"] or "-"
        top.add_row(row["profile_id"], who, f"{row['clv']:,.2f}",
                    f"{row['expected_purchases']:.2f}", f"{row['p_alive']:.0%}",
                    f"{row['purchase_days']:,}")
    console.print(top)
    console.print(f"CLV over {report['customers']:,} customers: mean {c['mean']:,.2f}, "
                  f"median {c['median']:,.2f}, top tenth from {c['p90']:,.2f}, total "
                  f"{c['total']:,.2f}")
    table = Table(title=f"{report['model']} on {report['customers']:,} customers "
                  f"({time_unit})", show_header=False)
    for name, value in report["params"].items():
        table.add_row(name, f"{value:.4g}")
    if "selection" in report:
        for name, errors in report["selection"]["candidates"].items():
            mark = " (chosen)" if name == report["model"] else ""
            table.add_row(f"holdout MAE of {name}{mark}", f"{errors['mae_purchases']:.4f}")
    if "holdout" in report:
        h = report["holdout"]
        table.add_row("holdout MAE (purchase days)", f"{h['mae_purchases']:.3f}")
        table.add_row("holdout purchases, actual / predicted",
                      f"{h['actual_purchases']:,} / {h['predicted_purchases']:,.0f}")
    alive = report["p_alive"]
    table.add_row("one-time buyers, of them p_alive = 1",
                  f"{alive['one_time_buyers']:,}, {alive['one_time_p_alive_1']:,}")
    excluded = report["excluded"]["anonymous"]
    if excluded:
        table.add_row("anonymous buyers left out", f"{excluded:,} (--include-anonymous)")
    table.add_row("profiles updated", f"{report['traits_written']:,}")
    console.print(table)
    if report["model"] == "bg-nbd":
        console.print(f"[dim]{alive['note']}[/]")


def _classify(ctx: typer.Context, target: str, cutoff: str, horizon_days: int, backend: str,
              snapshot: Any, write: bool, as_json: bool, include_anonymous: bool = False
              ) -> None:
    from datetime import UTC, datetime

    from tailored.predict.propensity import run_propensity

    day = _date(cutoff, "cutoff")
    assert day is not None
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    with analytics_source(ctx, backend, snapshot) as source, progress(ctx, f"fit {target}"):
        report, traits = run_propensity(source, cutoff=when, horizon_days=horizon_days,
                                        target=target, include_anonymous=include_anonymous)
    report["traits_written"] = _write(ctx, traits, report["trait"]) if write else 0

    def render(console: Console) -> None:
        table = Table(title=f"{target} within {horizon_days} days of {report['cutoff']} "
                      f"({report['test']['people']:,} people, "
                      f"{report['test']['positive_rate']:.1%} positive)")
        columns = ("roc_auc", "pr_auc", "f1", "brier", "lift_top_decile")
        table.add_column("model")
        for c in columns:
            table.add_column(c.replace("_", " "), justify="right")
        rows = {report["baseline"]["name"]: report["baseline"], **report["models"]}
        for name, m in rows.items():
            mark = " *" if name == report["best"] else ""
            table.add_row(name + mark, *(f"{m[c]:.3f}" if m[c] is not None else "-"
                                         for c in columns))
        console.print(table)
        console.print(f"{report['trait']} written to {report['traits_written']:,} profiles "
                      f"(* the model used)")
        if report["excluded"]["anonymous"]:
            console.print(f"{report['excluded']['anonymous']:,} anonymous profiles left out "
                          "(--include-anonymous takes them)")

    emit(ctx, as_json, report, render)


CutoffOpt = Annotated[str, typer.Option(
    "--cutoff", help="The day (YYYY-MM-DD) features end and the label window starts.")]
HorizonOpt = Annotated[int, typer.Option(
    "--horizon-days", help="Length of the label window, in days.")]


@predict_app.command("propensity")
def propensity_cmd(
    ctx: typer.Context,
    cutoff: CutoffOpt,
    horizon_days: HorizonOpt = 30,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    include_anonymous: IncludeAnonymousOption = False,
    write: WriteOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Who will buy in the next N days; scores written to the purchase_propensity trait.

    Logistic regression, random forest and gradient boosting beside a recency-only baseline,
    trained before the cut-off and tested on the N days after it.
    """
    _classify(ctx, "purchase", cutoff, horizon_days, backend, snapshot, write, as_json,
              include_anonymous)


@predict_app.command("churn")
def churn_cmd(
    ctx: typer.Context,
    cutoff: CutoffOpt,
    horizon_days: HorizonOpt = 90,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    include_anonymous: IncludeAnonymousOption = False,
    write: WriteOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Which customers will not buy again in the next N days; scores in the churn_risk trait.

    The same models and metrics as propensity, over customers with an order.
    """
    _classify(ctx, "churn", cutoff, horizon_days, backend, snapshot, write, as_json,
              include_anonymous)


def register(app: typer.Typer) -> None:
    app.add_typer(predict_app)
