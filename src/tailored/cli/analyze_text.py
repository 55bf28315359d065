"""The text, keywords and sentiment commands of ``tailored analyze``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tailored.cli.analytics_source import BackendOption, SnapshotOption, analytics_source
from tailored.cli.state import emit, progress, staged_progress, state_of
from tailored.extras import require

__all__ = ["register"]

# Under the `datasets` setting (TAILORED_DATASETS): the public corpus of ChineseNlpCorpus.
DEFAULT_DATA = Path("chinese-reviews/online_shopping_10_cats.csv.gz")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
KindOption = Annotated[list[str] | None, typer.Option(
    "--kind", help="Texts to read (repeat for several): review (Product Reviewed "
    "review_body), feedback (Survey Answered / Feedback Submitted comment), search (Products "
    "Searched query), tag (Product Tagged tag, as MovieLens tags), item (the catalogue's "
    "title, description and tags).")]
LanguageOption = Annotated[str, typer.Option(
    "--language", help="auto (Chinese when a text has a Chinese character, else English), "
    "en or zh.")]
TopOption = Annotated[int, typer.Option("--top", help="How many words (or groups) to list.")]
UserDictOption = Annotated[Path | None, typer.Option(
    "--user-dict", help="A jieba user dictionary (one word a line, optionally its frequency "
    "and tag) of words to keep whole: names, brands, new words.")]


def _user_dict(path: Path | None) -> int | None:
    if path is None:
        return None
    from tailored.analytics.tokens import load_user_dictionary

    return load_user_dictionary(path)


def _print_split_words(c: Console, split: list[dict[str, object]]) -> None:
    if not split:
        return
    listed = ", ".join(f"{s['word']} ({' + '.join(s['parts'])}, {s['count']:,}×)"  # type: ignore[arg-type]
                       for s in split)
    c.print(f"jieba probably cut these words apart: {listed}. To count them as words, list "
            "them in a file, one a line, and pass --user-dict FILE.", highlight=False)


def _kinds(kind: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    from tailored.analytics.text import check_kinds

    return check_kinds(kind) if kind is not None else default


def words(
    ctx: typer.Context,
    kind: KindOption = None,
    language: LanguageOption = "auto",
    top: TopOption = 20,
    user_dict: UserDictOption = None,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_json: JsonOption = False,
) -> None:
    """The most frequent words of reviews, feedback and searches, without stop words."""
    from tailored.analytics.keywords import word_frequency

    started = time.perf_counter()
    from tailored.analytics.text import DEFAULT_KINDS

    kinds = _kinds(kind, DEFAULT_KINDS)
    user_words = _user_dict(user_dict)
    with analytics_source(ctx, backend, snapshot) as source, progress(ctx, "count words"):
        data = word_frequency(source, kinds=kinds, language=language, top=top)
    data.update(backend=backend, seconds=round(time.perf_counter() - started, 3),
                user_dict_words=user_words)

    def render(c: Console) -> None:
        table = Table("word", "count", "share", title=f"{data['texts']:,} texts, "
                      f"{data['words']:,} words ({data['distinct']:,} distinct)")
        for row in data["top"]:
            table.add_row(row["word"], f"{row['count']:,}", f"{row['share']:.1%}")
        c.print(table)
        _print_split_words(c, data["split_words"])

    emit(ctx, as_json, data, render)


def keywords(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(
        "--by", help="Group texts by item, category, segment, trait:KEY (e.g. trait:gender) "
        "or all.")] = "item",
    kind: KindOption = None,
    language: LanguageOption = "auto",
    top: TopOption = 10,
    min_texts: Annotated[int, typer.Option(
        "--min-texts", help="Leave out groups with fewer texts than this.")] = 1,
    user_dict: UserDictOption = None,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_json: JsonOption = False,
) -> None:
    """TF-IDF keywords of each item, category, segment or trait value: the words frequent in
    its texts and rare in the others'."""
    from tailored.analytics.keywords import keywords as find_keywords

    started = time.perf_counter()
    from tailored.analytics.text import DEFAULT_KINDS

    kinds = _kinds(kind, DEFAULT_KINDS)
    user_words = _user_dict(user_dict)
    with analytics_source(ctx, backend, snapshot) as source, progress(ctx, "keywords"):
        data = find_keywords(source, by=by, kinds=kinds, language=language, top=top,
                             min_texts=min_texts)
    data.update(backend=backend, seconds=round(time.perf_counter() - started, 3),
                user_dict_words=user_words)

    def render(c: Console) -> None:
        table = Table(by, "texts", "keywords", title=f"Keywords by {by}")
        for group, found in data["keywords"].items():
            table.add_row(group, f"{found['texts']:,}",
                          ", ".join(k["word"] for k in found["keywords"]))
        c.print(table)
        _print_split_words(c, data["split_words"])

    emit(ctx, as_json, data, render)


def sentiment(
    ctx: typer.Context,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Sum up by item, category, segment or trait:KEY (repeat for several); "
        "default: item, category, and segment when there are segments.")] = None,
    period: Annotated[str, typer.Option(
        "--period", help="Time series step: day, week or month.")] = "month",
    kind: KindOption = None,
    language: LanguageOption = "auto",
    top: Annotated[int, typer.Option(
        "--top", help="How many groups of each grouping to list (busiest first).")] = 20,
    model: Annotated[Path | None, typer.Option(
        "--model", help="A Chinese sentiment model file (default: the store's own, written by "
        "sentiment-train or the quickstart).")] = None,
    backend: BackendOption = "duckdb",
    snapshot: SnapshotOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sentiment of reviews and feedback: VADER for English, the trained model for Chinese;
    by item, category, segment and over time."""
    from tailored.analytics.sentiment import ChineseSentiment
    from tailored.analytics.sentiment_scores import review_sentiment
    from tailored.analytics.sentiment_store import (
        load_sentiment_model,
        sentiment_model_location,
    )

    started = time.perf_counter()
    kinds = _kinds(kind, ("review", "feedback"))
    state = state_of(ctx)
    if model is not None:
        if not model.exists():
            from tailored.errors import InvalidInput

            raise InvalidInput(f"no sentiment model at {model}", field="model")
        zh_model: ChineseSentiment | None = ChineseSentiment.load(model)
        where = str(model)
    else:
        folder = state.settings.models_folder()
        zh_model = load_sentiment_model(state.store, folder)
        where = sentiment_model_location(state.store, folder)
    with analytics_source(ctx, backend, snapshot) as source, progress(ctx, "sentiment"):
        data = review_sentiment(source, model=zh_model, kinds=kinds, by=by, period=period,
                                language=language, top=top)
    data.update(model=where if zh_model is not None else None, backend=backend,
                seconds=round(time.perf_counter() - started, 3))

    def render(c: Console) -> None:
        o = data["overall"]
        c.print(f"{o['texts']:,} texts: mean score {o['mean_score']:+.2f}, "
                f"{o['positive']:.0%} positive, {o['negative']:.0%} negative")
        for key in [k for k in data if k.startswith("by_") and "top" in data[k]]:
            table = Table(key[3:], "texts", "score", "positive", "negative", "rating",
                          title=f"Sentiment {key.replace('_', ' ')}")
            for g, s in data[key]["top"].items():
                rating = "" if s["mean_rating"] is None else f"{s['mean_rating']:.2f}"
                table.add_row(g, f"{s['texts']:,}", f"{s['mean_score']:+.2f}",
                              f"{s['positive']:.0%}", f"{s['negative']:.0%}", rating)
            c.print(table)

    emit(ctx, as_json, data, render)


def sentiment_train(
    ctx: typer.Context,
    data_path: Annotated[Path | None, typer.Option(
        "--data", help="Labelled reviews: CSV (or .csv.gz) with label (1 positive, "
        f"0 negative) and review columns. Default: {DEFAULT_DATA} in the folder of the "
        "datasets setting (TAILORED_DATASETS).")] = None,
    test_size: Annotated[float, typer.Option(
        "--test-size", help="Share held out (stratified) to judge the model on.")] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the held-out split.")] = 0,
    sample: Annotated[int | None, typer.Option(
        "--sample", help="Train and judge on a stratified sample of this many rows.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train the Chinese review sentiment model and keep it with the store (beside a SQLite
    file, in a PostgreSQL store); reports its accuracy on the held-out part."""
    from tailored.analytics.sentiment_store import save_sentiment_model
    from tailored.analytics.sentiment_training import train_chinese_sentiment
    from tailored.errors import InvalidInput

    state = state_of(ctx)
    if data_path is None:
        if state.settings.datasets is None:
            raise InvalidInput("give --data PATH, a CSV with label and review columns (such as "
                               f"{DEFAULT_DATA.name}), or set TAILORED_DATASETS to the folder "
                               f"that holds {DEFAULT_DATA}", field="data")
        data_path = state.settings.datasets / DEFAULT_DATA
    if not data_path.is_file():
        raise InvalidInput(f"no data file at {data_path}: give --data PATH to a CSV with label "
                           "and review columns (such as online_shopping_10_cats.csv.gz)",
                           field="data")
    require("jieba", "zh")  # before reading a large file
    folder = state.settings.models_folder()
    # Models kept in the store's own table (PostgreSQL): open it before training, so a bad
    # URL fails now, not in two minutes. Model files need no store opened.
    store = state.writable_store if folder is None else None
    with staged_progress(ctx, "train Chinese sentiment") as update:
        model, report = train_chinese_sentiment(data_path, test_size=test_size, seed=seed,
                                                sample=sample, on_progress=update)
    report["path"] = save_sentiment_model(model, store, folder)

    def render(c: Console) -> None:
        h = report["held_out"]
        c.print(f"Trained on {report['train']:,} reviews in {report['train_seconds']:.1f}s; "
                f"held-out {report['test']:,}: accuracy {h['accuracy']:.4f}, F1 {h['f1']:.4f}."
                f" Saved to {report['path']}.")

    emit(ctx, as_json, report, render)


def register(group: typer.Typer) -> None:
    """Add these commands to the ``analyze`` group."""
    group.command("words")(words)
    group.command("keywords")(keywords)
    group.command("sentiment")(sentiment)
    group.command("sentiment-train")(sentiment_train)
