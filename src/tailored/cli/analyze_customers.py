"""The demographics, needs and satisfaction commands of ``tailored analyze``."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from tailored.cli.analytics_source import BackendOption, SnapshotOption, analytics_source
from tailored.cli.result_rows import render_rows, rows_of
from tailored.cli.state import emit

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
ByOpt = Annotated[str | None, typer.Option(
    "--by", help="Break down by a trait (age as bands, gender, country, ...) or 'segment' "
    "(stored segment members).")]


def demographics(
    ctx: typer.Context,
    trait: Annotated[str, typer.Option("--trait", help="The trait: age (as bands), gender, "
                                       "country, occupation, any other.")] = "age",
    backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """A trait's distribution and behaviour per value: conversion, orders, revenue, ratings."""
    from tailored.analytics.demographics import crosstab

    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        rows = rows_of(crosstab(source, trait))
    total = sum(r["people"] for r in rows) or 1
    for r in rows:
        r["share"] = r["people"] / total
    data = {"trait": trait, "people": total if rows else 0, "rows": rows,
            "seconds": round(time.perf_counter() - started, 3)}
    emit(ctx, as_json, data, lambda c: render_rows(
        c, rows, title=f"customers by {trait}",
        columns=["value", "people", "share", "buyers", "conversion", "orders_per_buyer",
                 "revenue_per_person", "avg_rating"]))


def needs(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option(
        "--profile", help="One profile id; default: every person (see --limit).")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Favourites of each kind.")] = 3,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many people.")
                     ] = 20,
    backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """Each person's favourite categories, brands, products and tags, and price range."""
    from tailored.analytics.needs import favourites, price_ranges

    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        fav = favourites(source, top=top, profile_id=profile)
        ids = [r["profile_id"] for r in rows_of(
            fav.select("profile_id").distinct().order_by("profile_id"), limit=limit)]
        favs = rows_of(fav.filter(fav.profile_id.isin(ids))) if ids else []
        ranges = price_ranges(source, profile_id=profile)
        priced = rows_of(ranges.filter(ranges.profile_id.isin(ids))) if ids else []
    people: dict[str, dict[str, Any]] = {
        pid: {"category": [], "brand": [], "product": [], "tag": [], "price": None}
        for pid in ids}
    for f in favs:
        people[f["profile_id"]][f["kind"]].append({"value": f["value"], "score": f["score"]})
    for r in priced:
        people[r.pop("profile_id")]["price"] = r
    listed = [{"profile_id": pid, **v} for pid, v in people.items()]
    data = {"people": listed, "seconds": round(time.perf_counter() - started, 3)}
    rows = [{"profile_id": p["profile_id"],
             **{k: ", ".join(x["value"] for x in p[k]) for k in ("category", "brand", "tag")},
             "price": (f"{p['price']['price_low']:g}-{p['price']['price_high']:g}"
                       if p["price"] else "-")}
            for p in listed]
    emit(ctx, as_json, data, lambda c: render_rows(c, rows, title="needs"))


def satisfaction(
    ctx: typer.Context, by: ByOpt = None,
    period: Annotated[str | None, typer.Option(
        "--period", help="Also over time: day, week or month.")] = None,
    backend: BackendOption = "duckdb", snapshot: SnapshotOption = None,
    as_json: JsonOpt = False,
) -> None:
    """NPS and CSAT from survey answers, average rating, and repeat purchases."""
    from tailored.analytics.loyalty import repeat_purchases
    from tailored.analytics.satisfaction import csat, nps, ratings

    with analytics_source(ctx, backend, snapshot) as source:
        started = time.perf_counter()
        data: dict[str, Any] = {
            "by": by, "period": period,
            "nps": rows_of(nps(source, by=by, period=period)),
            "csat": rows_of(csat(source, by=by, period=period)),
            "ratings": rows_of(ratings(source, by=by, period=period)),
            "repeat_purchases": rows_of(repeat_purchases(source, by=by)),
        }
    data["seconds"] = round(time.perf_counter() - started, 3)

    def render(console: Any) -> None:
        for key, title in (("nps", "NPS"), ("csat", "CSAT (% of 4-5)"),
                           ("ratings", "ratings"), ("repeat_purchases", "repeat purchases")):
            render_rows(console, data[key], title=title)

    emit(ctx, as_json, data, render)


def register(group: typer.Typer) -> None:
    """Add these commands to the ``analyze`` group."""
    group.command("demographics")(demographics)
    group.command("needs")(needs)
    group.command("satisfaction")(satisfaction)
