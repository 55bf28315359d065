"""``tailored generate`` and ``tailored quickstart``: the demo shop, end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli.people import render_stats
from tailored.cli.state import emit, progress, staged_progress, state_of
from tailored.ingest import Ingestor

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
PeopleOpt = Annotated[int, typer.Option("--people", min=10, help="How many people.")]
ItemsOpt = Annotated[int, typer.Option("--items", min=10, help="How many items.")]
DaysOpt = Annotated[int, typer.Option("--days", min=7, help="How many days of activity.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same shop.")]


def _generate(ctx: typer.Context, people: int, items: int, days: int, seed: int, out: Path
              ) -> tuple[dict[str, Path], float]:
    from tailored.demo import ShopConfig, generate_shop, write_shop

    started = time.perf_counter()
    with progress(ctx, "generate demo shop"):
        shop = generate_shop(ShopConfig(people=people, items=items, days=days, seed=seed))
        paths = write_shop(shop, out)
    return paths, time.perf_counter() - started


def generate(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the shop's files.")]
        = Path("demo-shop"),
    people: PeopleOpt = 400,
    items: ItemsOpt = 300,
    days: DaysOpt = 120,
    seed: SeedOpt = 7,
    as_json: JsonOpt = False,
) -> None:
    """Write a seeded, realistic demo shop and its hidden ground truth.

    Items, edges and events as JSON Lines, and truth.json: the true person of every device
    and event, and every person's taste segment.
    """
    paths, seconds = _generate(ctx, people, items, days, seed, out)
    data = {"folder": str(out), "files": {k: str(v) for k, v in paths.items()},
            "seconds": round(seconds, 3)}
    emit(ctx, as_json, data, lambda c: c.print(f"demo shop written to {out} in {seconds:.1f}s"))


def quickstart(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo shop's files.")]
        = Path("demo-shop"),
    people: PeopleOpt = 400,
    seed: SeedOpt = 7,
    as_json: JsonOpt = False,
) -> None:
    """Generate a demo shop, ingest it into the store, and report what stitching found."""
    from tailored.demo import read_shop_records
    from tailored.demo.recovery import stitching_recovery
    from tailored.recommend.training import train_from_store

    state = state_of(ctx)
    paths, gen_seconds = _generate(ctx, people, max(100, people * 3 // 4), 120, seed, out)
    ingestor = Ingestor.from_settings(state.writable_store, state.settings)
    with progress(ctx, "ingest demo shop") as advance:
        report = ingestor.ingest(read_shop_records(out), on_progress=advance)
    truth = json.loads(Path(paths["truth"]).read_text())
    recovery = stitching_recovery(state.store, truth)
    stats = state.store.stats()
    first_model = state.settings.default_model or "item-knn"
    with progress(ctx, f"train {first_model}"):
        model, trained = train_from_store(state.store, first_model, state.models)
    examples = {p["profile_id"]: [r.to_dict() for r in model.recommend(p["profile_id"], 3)]
                for p in state.store.profiles(3)}
    sentiment = _sentiment_model(ctx, Path(paths["reviews_zh"]))
    data: dict[str, Any] = {
        "database": state.store.url,
        "demo_folder": str(out),
        "generate_seconds": round(gen_seconds, 3),
        "ingest": report.to_dict(),
        "events_per_second": round(report.accepted / report.seconds) if report.seconds else None,
        "stats": stats,
        "stitching": recovery,
        "model": {k: trained[k] for k in ("model", "path", "users", "items", "train_seconds")},
        "recommendations": examples,
        "sentiment": sentiment,
    }

    def render(console: Console) -> None:
        console.rule("[bold]Tailored quickstart")
        console.print(f"Demo shop of {people} people generated in {gen_seconds:.1f}s "
                      f"({out}); ingested {report.accepted:,} events in {report.seconds:.1f}s "
                      f"({data['events_per_second']:,} events/s) into {state.store.url}.")
        render_stats(console, stats)
        t = Table(title="identity stitching against the hidden truth", show_header=False)
        t.add_row("events on the true person's profile",
                  f"{recovery['events_on_true_person']:.1%}")
        t.add_row("events still anonymous (device never logged in)",
                  f"{recovery['events_still_anonymous']:.1%}")
        t.add_row("events on a wrong person", f"{recovery['events_on_wrong_person']:.1%}")
        t.add_row("anonymous ids stitched to their person",
                  f"{recovery['anonymous_ids_stitched']:.1%}")
        t.add_row("profiles wrongly holding two people", str(recovery["wrong_merges"]))
        console.print(t)
        console.print(f"Trained {trained['model']} on {trained['users']:,} people and "
                      f"{trained['items']:,} items in {trained['train_seconds']:.2f}s. "
                      "Recommendations for the three busiest people:")
        for pid, recs in examples.items():
            console.print(f"[bold]{pid}[/]")
            for r in recs:
                console.print(f"  {r['item_id']}  {r['reason']}")
        if "skipped" in sentiment:
            console.print(f"Chinese sentiment: {sentiment['skipped']}.", markup=False)
        else:
            console.print(f"Trained the Chinese sentiment model on {sentiment['train']:,} of "
                          f"the demo's labelled reviews in {sentiment['train_seconds']:.1f}s "
                          f"(held-out accuracy {sentiment['held_out']['accuracy']:.1%}), so "
                          "[bold]tailored analyze sentiment[/] reads the demo's Chinese "
                          "reviews too.")
        console.print("Next: [bold]tailored profiles[/], [bold]tailored profile ID --merges[/], "
                      "[bold]tailored recommend ID[/], [bold]tailored analyze sentiment[/], "
                      "[bold]tailored serve[/], [bold]tailored export[/].")

    emit(ctx, as_json, data, render)
    if report.rejected:
        raise typer.Exit(1)


def _sentiment_model(ctx: typer.Context, reviews: Path) -> dict[str, Any]:
    """Train the Chinese sentiment model the demo's Chinese reviews need, on the demo's own
    labelled reviews (seconds), and keep it with the store; skipped without the zh extra."""
    from tailored.extras import EXTRAS, available

    if not available("zh"):
        return {"skipped": f"{EXTRAS['zh'][1]} needs the 'zh' extra: pip install "
                "'tailored[zh]'"}
    from tailored.analytics.sentiment_store import save_sentiment_model
    from tailored.analytics.sentiment_training import train_chinese_sentiment

    state = state_of(ctx)
    with staged_progress(ctx, "train Chinese sentiment") as update:
        model, report = train_chinese_sentiment(reviews, on_progress=update)
    report["path"] = save_sentiment_model(model, state.store, state.settings.models_folder())
    return {k: report[k] for k in ("path", "data", "train", "test", "held_out",
                                   "train_seconds")}


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command()(quickstart)
