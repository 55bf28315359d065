"""``tailored analyze words|keywords|sentiment|sentiment-train``: JSON out, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.store import Store
from tests.analytics.test_sentiment import NEGATIVE, POSITIVE
from tests.analytics.test_text import EVENTS, ITEMS
from tests.cli.test_cli import run


@pytest.fixture
def shop(store_url: str) -> str:
    """A store on each backend with two reviews (English, Chinese), a search and a comment."""
    store = Store.open(store_url)
    try:
        store.upsert_items(ITEMS)
        assert not Ingestor(store).ingest_events(EVENTS).rejected
    finally:
        store.close()
    return store_url


def invoke(db: str, models: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", db, "analyze", *args],
                              env={"TAILORED_MODELS_DIR": str(models)})


def data_of(result: Any) -> Any:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    rows = [(1, t) for t in POSITIVE * 2] + [(0, t) for t in NEGATIVE * 2]
    path.write_text("label,review\n" + "".join(f"{lab},{t}\n" for lab, t in rows),
                    encoding="utf-8")
    return path


def test_words_and_keywords_print_json(shop: str, tmp_path: Path) -> None:
    words = data_of(invoke(shop, tmp_path, "words", "--top", "2", "--json"))
    assert [w["word"] for w in words["top"]] == ["great", "pan"]
    keywords = data_of(invoke(shop, tmp_path, "keywords", "--by", "category", "--kind",
                              "review", "--json"))
    assert set(keywords["keywords"]) == {"Books", "Home"}
    assert keywords["backend"] == "duckdb"


def test_sentiment_train_then_sentiment_scores_chinese_and_english(
        shop: str, tmp_path: Path) -> None:
    models = tmp_path / "models"
    trained = data_of(invoke(shop, models, "sentiment-train", "--data",
                             str(train_file(tmp_path)), "--test-size", "0.25", "--json"))
    assert (trained["train"], trained["test"]) == (18, 6)
    assert Path(trained["path"]) == models / "sentiment-zh.npz"
    result = data_of(invoke(shop, models, "sentiment", "--period", "week", "--json"))
    assert result["overall"]["texts"] == 3
    assert set(result["by_language"]) == {"en", "zh"}
    assert result["over_time"]["period"] == "week"
    assert result["model"] == str(models / "sentiment-zh.npz")


def test_sentiment_without_the_chinese_model_says_to_train_it(shop: str, tmp_path: Path
                                                               ) -> None:
    r = invoke(shop, tmp_path / "empty", "sentiment", "--json")
    assert isinstance(r.exception, InvalidInput)
    assert "tailored analyze sentiment-train" in str(r.exception)


@pytest.mark.parametrize(("args", "message"), [
    (["words", "--language", "fr"], "language must be one of"),
    (["words", "--kind", "tweets"], "unknown text kind 'tweets'"),
    (["keywords", "--by", "segment"], "no segment members"),
    (["sentiment", "--period", "year"], "period must be one of"),
    (["sentiment-train", "--data", "/nonexistent.csv"], "no data file at /nonexistent.csv"),
])
def test_bad_options_are_clear_errors(shop: str, tmp_path: Path, args: list[str],
                                      message: str) -> None:
    r = invoke(shop, tmp_path, *args)
    assert isinstance(r.exception, InvalidInput), r.output
    assert message in str(r.exception)


def test_a_bad_data_file_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("label,text\n1,很好\n", encoding="utf-8")
    r = run(["--db", f"sqlite:///{tmp_path / 's.db'}", "analyze", "sentiment-train",
             "--data", str(bad), "--json"], tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith("error: ") and "no 'review' column" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
