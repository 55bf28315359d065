"""``tailored evaluate``: a model on a split, scored as the published tables are."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from tailored.cli.state import emit, progress, state_of

__all__ = ["register"]

SPLITS = ("per-user-random", "leave-last", "leave-one-out", "random", "temporal")


def _movielens(path: Path) -> tuple[Any, Any]:
    """A MovieLens folder's ratings as a table, and its films (title, genres) as side data
    for the content model."""
    from tailored.evaluate import InteractionTable
    from tailored.ingest.sources.movielens import read_movielens
    from tailored.ingest.sources.records import SourceRecord
    from tailored.recommend import SideData

    users, items, times, ratings = [], [], [], []
    films = []
    for rec in read_movielens(path):
        if not isinstance(rec, SourceRecord):
            continue
        if rec.kind == "item":
            films.append(rec.data)
        elif rec.data.get("event") == "Product Rated":
            users.append(rec.data["userId"])
            items.append(rec.data["properties"]["product_id"])
            times.append(rec.data["timestamp"].timestamp())
            ratings.append(rec.data["properties"]["rating"])
    table = InteractionTable(np.array(users), np.array(items), np.array(times),
                             np.array(ratings))
    return table, SideData(items=tuple(films))


def _movielens_table(path: Path) -> Any:
    return _movielens(path)[0]


def _store_table(ctx: typer.Context) -> tuple[Any, Any]:
    """The store's interactions as a table, and its items and social ties as side data."""
    import pyarrow.compute as pc

    from tailored.evaluate import InteractionTable
    from tailored.recommend import SideData
    from tailored.store.snapshot_files import read_snapshot_table
    from tailored.store.snapshots import export_snapshot

    with tempfile.TemporaryDirectory(prefix="tailored-eval-") as tmp:
        export_snapshot(state_of(ctx).store, Path(tmp))
        t = read_snapshot_table(Path(tmp), "interactions",
                                columns=["profile_id", "item_id", "timestamp", "rating"])
        side = SideData.from_snapshot(Path(tmp))
    table = InteractionTable(
        t["profile_id"].to_numpy(zero_copy_only=False),
        t["item_id"].to_numpy(zero_copy_only=False),
        pc.cast(t["timestamp"], "int64").to_numpy() / 1e6,
        None)
    return table, side


def evaluate(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="popular, item-knn, social, ... ")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=1000, help="List length.")] = 10,
    train: Annotated[Path | None, typer.Option(
        "--train", help="Training file (CSV or Parquet: user_id, item_id[, rating, "
        "timestamp]).")] = None,
    test: Annotated[Path | None, typer.Option("--test", help="Test file, same columns.")]
        = None,
    candidates: Annotated[Path | None, typer.Option(
        "--candidates", help="Rank only these (user_id, item_id) for each person.")] = None,
    split: Annotated[str, typer.Option(
        "--split", help=f"Without --train/--test: {', '.join(SPLITS)}.")] = "per-user-random",
    movielens: Annotated[Path | None, typer.Option(
        "--movielens", help="Split this MovieLens folder instead of the store's data.")]
        = None,
    test_fraction: Annotated[float, typer.Option("--test-fraction", min=0.01, max=0.99)]
        = 0.2,
    n: Annotated[int, typer.Option("--n", min=1, help="Items per person for leave-last.")]
        = 10,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    relevance_threshold: Annotated[float | None, typer.Option(
        "--relevance-threshold", help="Only test items rated at least this are relevant.")]
        = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
        = False,
) -> None:
    """Fit a model on a training split and report precision, recall, F1, NDCG, MAP, MRR,
    hit rate and coverage at k on the test split."""
    from tailored.evaluate import (
        leave_last_n_split,
        leave_one_out_split,
        per_user_random_split,
        random_split,
        read_split_file,
        temporal_split,
    )
    from tailored.evaluate.runner import evaluate_model

    if (train is None) != (test is None):
        raise typer.BadParameter("give both --train and --test, or neither",
                                 param_hint="--train/--test")
    if split not in SPLITS:
        raise typer.BadParameter(f"must be one of {', '.join(SPLITS)}", param_hint="--split")
    cand = read_split_file(candidates) if candidates else None
    source: dict[str, Any]
    side = None
    if train is not None and test is not None:
        train_t, test_t = read_split_file(train), read_split_file(test)
        source = {"train": str(train), "test": str(test)}
    else:
        table, side = _movielens(movielens) if movielens else _store_table(ctx)
        cut = {
            "per-user-random": lambda: per_user_random_split(
                table, test_fraction=test_fraction, seed=seed),
            "random": lambda: random_split(table, test_fraction=test_fraction, seed=seed),
            "leave-last": lambda: leave_last_n_split(table, n=n),
            "leave-one-out": lambda: leave_one_out_split(table),
            "temporal": lambda: temporal_split(table, test_fraction=test_fraction),
        }[split]()
        train_t, test_t = cut.train, cut.test
        source = {"data": str(movielens) if movielens else "store", "split": split}
    with progress(ctx, f"evaluate {model}"):
        result = evaluate_model(model, train_t, test_t, k, candidates=cand,
                                relevance_threshold=relevance_threshold, side=side)
    result["source"] = source

    def render(console: Any) -> None:
        console.print(f"[bold]{model}[/] at k={k} on {source}: trained in "
                      f"{result['train_seconds']}s, {result['users_evaluated']:,} people")
        for name, value in result["metrics"].items():
            console.print(f"  {name:14} {value:.4f}")

    emit(ctx, as_json, result, render)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
