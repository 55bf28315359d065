"""The RFM, clustering and classifier commands of ``tailored segment``."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

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

__all__ = ["register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]




def _excluded_line(data: dict[str, Any]) -> str:
    """What the customer rule left out, for the human output ("" when nothing)."""
    n = data["excluded"]["anonymous"]
    return (f"{n:,} anonymous profiles left out (no user id or e-mail; --include-anonymous "
            "takes them). " if n else "")


def rfm(
    ctx: typer.Context,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    include_anonymous: IncludeAnonymousOption = False,
    identified_only: Annotated[bool, typer.Option(
        "--identified-only", hidden=True,
        help="Only identified customers: the default now, kept for old scripts.")] = False,
    save: Annotated[bool, typer.Option(
        "--save/--no-save", help="Record the groups as segments rfm:<group> and the trait "
        "rfm_group on each customer.")] = True,
    as_json: JsonOption = False,
) -> None:
    """RFM scores (1-5) and the named groups (Champions ... Lost) of every customer."""
    from tailored.segments.rfm import compute_rfm

    if identified_only and include_anonymous:
        raise InvalidInput("--identified-only and --include-anonymous contradict each other: "
                           "identified customers are the default", field="include_anonymous")
    when = parse_as_of(as_of)
    started = time.perf_counter()
    with analytics_source(ctx, backend, snapshot) as source:
        snapped = time.perf_counter()
        with progress(ctx, "rfm"):
            result = compute_rfm(source, as_of=when, include_anonymous=include_anonymous)
    computed = time.perf_counter()
    data: dict[str, Any] = result.summary()
    if save:
        from tailored.segments.writeback import save_rfm

        with progress(ctx, "save groups"):
            saved = save_rfm(state_of(ctx).store, result)
        data["saved"] = {"traits_written": saved["traits_written"],
                         "segments": sorted(saved["segments"])}
    done = time.perf_counter()
    data["seconds"] = round(done - started, 3)
    data["timings"] = {"source": round(snapped - started, 3),
                       "rfm": round(computed - snapped, 3), "save": round(done - computed, 3)}
    data["backend"] = backend

    def render(c: Console) -> None:
        table = Table("group", "customers", "recency days", "orders", "spend",
                      title=f"RFM of {data['customers']:,} customers as of {data['as_of']}")
        for group, n in data["groups"].items():
            means = data["group_means"].get(group, {})
            table.add_row(group, f"{n:,}", f"{means.get('recency_days', 0):,.0f}",
                          f"{means.get('frequency', 0):,.1f}", f"{means.get('monetary', 0):,.0f}")
        c.print(table)
        c.print(_excluded_line(data) + f"{data['seconds']} s")

    emit(ctx, as_json, data, render)


def cluster(
    ctx: typer.Context,
    k: Annotated[int | None, typer.Option("--k", help="Number of clusters (default: chosen "
                                          "by silhouette).")] = None,
    max_k: Annotated[int, typer.Option("--max-k", help="Largest k tried when choosing.")] = 8,
    features: Annotated[str, typer.Option(
        "--features", help="behaviour (activity, orders, spend), taste (share of interest "
        "per top-level category) or all.")] = "all",
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    include_anonymous: IncludeAnonymousOption = False,
    save: Annotated[bool, typer.Option(
        "--save/--no-save", help="Record clusters as segments cluster:<n> and the trait "
        "cluster.")] = False,
    as_json: JsonOption = False,
) -> None:
    """K-means clusters of customers, with a portrait of what sets each apart."""
    from tailored.segments.clustering import cluster_customers

    when = parse_as_of(as_of)
    started = time.perf_counter()
    with analytics_source(ctx, backend, snapshot) as source, progress(ctx, "cluster"):
        result = cluster_customers(source, as_of=when, n_clusters=k,
                                   max_clusters=max_k, features=features,
                                   include_anonymous=include_anonymous)
    data = result.summary()
    if save:
        from tailored.segments.writeback import save_clusters

        saved = save_clusters(state_of(ctx).store, result)
        data["saved"] = {"traits_written": saved["traits_written"],
                         "segments": sorted(saved["segments"])}
    data["seconds"] = round(time.perf_counter() - started, 3)

    def render(c: Console) -> None:
        c.print(f"{data['customers']:,} customers in {data['k']} clusters")
        if data["silhouette"]:
            best = max(data["silhouette"].values())
            table = Table("k", "silhouette", "", title="k by silhouette (higher: better "
                          "separated clusters)")
            for k_tried, score in data["silhouette"].items():
                mark = "chosen" if int(k_tried) == data["k"] else (
                    "best" if score == best else "")
                table.add_row(k_tried, f"{score:.3f}", mark)
            c.print(table)
        for portrait in data["clusters"]:
            c.print(f"- {portrait['summary']}")
        if line := _excluded_line(data):
            c.print(line)

    emit(ctx, as_json, data, render)


def learn(
    ctx: typer.Context,
    target: Annotated[str, typer.Option(
        "--target", help="A stored segment (e.g. rfm:Champions), a rule (inline JSON or a "
        ".json/.yaml file), or next-purchase:DAYS (bought in the DAYS after --as-of).")],
    model: Annotated[str, typer.Option("--model", help="tree (entropy, as ID3) or "
                                       "logistic.")] = "tree",
    select: Annotated[str | None, typer.Option(
        "--select", help="Keep the best --features features by chi2 or mutual_info.")] = None,
    n_features: Annotated[int, typer.Option("--features", help="How many features --select "
                                            "keeps.")] = 5,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    include_anonymous: IncludeAnonymousOption = False,
    as_json: JsonOption = False,
) -> None:
    """Learn a segment from customer features; show its rules or coefficients in words."""
    from tailored.segments.learning import learn_segment
    from tailored.segments.membership import current_members, segment_sizes

    when = parse_as_of(as_of)
    store = state_of(ctx).store
    known = list(segment_sizes(store))

    def lookup(name: str) -> list[str] | None:
        return current_members(store, name) if name in known else None

    started = time.perf_counter()
    with analytics_source(ctx, backend, snapshot) as source, progress(ctx, "learn"):
        result = learn_segment(source, target, model=model, select=select,
                               k_features=n_features, as_of=when, lookup=lookup,
                               known=known, include_anonymous=include_anonymous)
    data = result.summary()
    data["seconds"] = round(time.perf_counter() - started, 3)

    def render(c: Console) -> None:
        m = data["metrics"]
        c.print(f"{data['model']} for {target!r}: {m['members']:,} of {m['customers']:,} "
                f"customers; test accuracy {m['accuracy']:.3f} (majority baseline "
                f"{m['baseline_accuracy']:.3f}), F1 {m['f1']:.3f}"
                + (f", ROC AUC {m['roc_auc']:.3f}" if "roc_auc" in m else ""))
        for line in data["explanation"]:
            c.print(f"- {line['text']}")
        if note := _excluded_line(data):
            c.print(note)

    emit(ctx, as_json, data, render)


def register(group: typer.Typer) -> None:
    """Add these commands to the ``segment`` group."""
    group.command("rfm")(rfm)
    group.command("cluster")(cluster)
    group.command("learn")(learn)
