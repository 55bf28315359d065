"""``tailored train``, ``recommend`` and ``similar``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli.state import emit, progress, state_of
from tailored.errors import InvalidInput
from tailored.extras import require

# The recommend package (numpy, scipy, scikit-learn, optuna) is imported inside the
# commands, so that every other command starts without it.
_MODEL_HELP = ("popular, content, item-knn, user-knn, cooccurrence, als, bpr, ease, social, "
               "hybrid or auto")

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", help=f"Which trained model: {_MODEL_HELP}.")]
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, help="How many items.")]


def train(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help=f"{_MODEL_HELP}.")] = "item-knn",
    as_json: JsonOpt = False,
) -> None:
    """Train a recommender on a fresh snapshot of the store and save it."""
    from tailored.recommend.registry import MODELS
    from tailored.recommend.training import train_from_store

    if model not in MODELS:  # before the store: a typo is the error to report
        raise InvalidInput(f"unknown model {model!r}; known: {', '.join(sorted(MODELS))}",
                           field="model")
    if model == "auto":
        require("optuna", "auto")  # before the snapshot: a missing extra fails at once
    state = state_of(ctx)
    with progress(ctx, f"train {model}"):
        _, meta = train_from_store(state.store, model, state.models)
    emit(ctx, as_json, meta, lambda c: c.print(
        f"trained {model} on {meta['interactions']:,} interactions of {meta['users']:,} people "
        f"and {meta['items']:,} items in {meta['train_seconds']:.2f}s → {meta['path']}"
        + _chosen_words(meta.get("chosen"))))


def _chosen_words(chosen: dict[str, Any] | None) -> str:
    """What auto or hybrid chose, in one line (all of it is in --json)."""
    if not chosen:
        return ""
    if "recency_half_life" in chosen and "model" not in chosen:
        half_life = chosen["recency_half_life"]
        return ("\nrecency chosen by validation: " + (
            "none" if half_life is None else f"half-life {half_life:g} items"))
    blend = next((b for b in (chosen.get("blend"), chosen) if b and "weights" in b), None)
    what = (", ".join(f"{m} {w:.0%}" for m, w in blend["weights"].items()) if blend
            else f"{chosen['model']} {chosen.get('params') or ''}")
    score = chosen.get("validation_ndcg")
    return f"\nchose {what}" + (f" (validation NDCG {score:.4f})" if score is not None else "")


def _render(console: Console, title: str, items: list[dict[str, object]]) -> None:
    table = Table(title=title)
    for col in ("#", "item", "title", "score", "reason"):
        table.add_column(col, overflow="fold")  # ids are never cut
    for n, it in enumerate(items, start=1):
        table.add_row(str(n), str(it["item_id"]), str(it.get("title") or ""),
                      f"{it['score']:.4g}", str(it["reason"]))
    console.print(table)


def recommend(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(
        help="Any identity of the person, or the profile id; an unknown one gets a "
        "cold-start list.")],
    k: KOpt = 10,
    model: ModelOpt = None,
    include_seen: Annotated[bool, typer.Option(
        "--include-seen", help="Also recommend what the person already engaged with.")]
        = False,
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Only items whose category path starts with this.")] = None,
    brand: Annotated[list[str] | None, typer.Option("--brand", help="Only this brand.")] = None,
    price_min: Annotated[float | None, typer.Option("--price-min")] = None,
    price_max: Annotated[float | None, typer.Option("--price-max")] = None,
    max_per_category: Annotated[int | None, typer.Option(
        "--max-per-category", min=1, help="Diversify: at most this many of one category.")]
        = None,
    diversity: Annotated[float, typer.Option(
        "--diversity", min=0.0, max=1.0, help="Diversify by maximal marginal relevance: 0 = "
        "by score alone, 1 = as unlike each other as possible.")] = 0.0,
    pin: Annotated[list[str] | None, typer.Option(
        "--pin", help="An item to lead the list (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The top k items for a person, each with a reason, and the brands, categories and
    price bands they favour."""
    from tailored.recommend import Filters
    from tailored.recommend.training import recommendations_for

    state = state_of(ctx)
    models = state.models
    name = models.resolve(model, state.settings.default_model)
    filters = Filters(exclude_seen=not include_seen, categories=tuple(category or ()),
                      brands=tuple(brand or ()), price_min=price_min, price_max=price_max,
                      max_per_category=max_per_category, diversity=diversity,
                      pinned=tuple(pin or ()))
    data = recommendations_for(models.load(name), state.store, person, k, filters)
    emit(ctx, as_json, data, lambda c: _render(c, f"{name} for {person}", data["items"]))


def similar(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="An item id.")],
    k: KOpt = 10,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Items most often chosen by the same people as ITEM."""
    from tailored.recommend.training import similar_for

    state = state_of(ctx)
    models = state.models
    name = models.resolve(model, state.settings.default_model)
    data = similar_for(models.load(name), state.store, item, k)
    title = f' "{data["title"]}"' if data.get("title") else ""
    emit(ctx, as_json, data,
         lambda c: _render(c, f"{name}: similar to {item}{title}", data["items"]))


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(recommend)
    app.command()(similar)
