"""`analyze sentiment` works on the quickstart's demo at once (the quickstart prepares the
Chinese model its reviews need); `sentiment-train` shows progress, finds its default data
through the `datasets` setting and keeps the model with the store, whatever the folder."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tailored.analytics.sentiment_store import (
    SENTIMENT_MODEL,
    load_sentiment_model,
    save_sentiment_model,
)
from tailored.analytics.sentiment_training import train_chinese_sentiment
from tailored.recommend.model_store import TableModels
from tailored.store import Store
from tests.analytics.test_sentiment import NEGATIVE, POSITIVE

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, hide: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    full.update(NO_COLOR="1", PYTHONPATH=str(ROOT / "src"), COLUMNS="200")
    full.update(env or {})
    if not full["NO_COLOR"]:
        del full["NO_COLOR"]
    hiding = "" if hide is None else f"sys.modules[{hide!r}] = None; "
    code = (f"import sys; {hiding}from tailored.cli.app import main; "
            f"sys.argv = ['tailored', *{list(args)!r}]; main()")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=600)


def labelled_csv(path: Path, repeat: int = 3) -> Path:
    rows = [(1, t) for t in POSITIVE * repeat] + [(0, t) for t in NEGATIVE * repeat]
    text = "label,review\n" + "".join(f"{lab},{t}\n" for lab, t in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_the_quickstart_demo_gets_sentiment_without_a_training_step(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    done = cli("quickstart", "--json", cwd=shop)
    assert done.returncode == 0, done.stderr
    prepared = json.loads(done.stdout)["sentiment"]
    models = shop / "tailored.db.models"
    assert prepared["path"] == str(models / f"{SENTIMENT_MODEL}.npz")
    assert prepared["held_out"]["accuracy"] >= 0.9 and prepared["train_seconds"] < 30
    # From another folder, naming the same store: the model is found beside it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("--db", f"sqlite:///{shop / 'tailored.db'}", "analyze", "sentiment", "--json",
                 cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == str(models / f"{SENTIMENT_MODEL}.npz")
    assert data["by_language"]["zh"]["texts"] > 0
    assert not any(elsewhere.iterdir())


def test_without_the_zh_extra_the_quickstart_says_so_and_sentiment_names_the_extra(
        tmp_path: Path) -> None:
    done = cli("quickstart", "--people", "20", "--json", cwd=tmp_path, hide="jieba")
    assert done.returncode == 0, done.stderr
    assert "pip install 'tailored[zh]'" in json.loads(done.stdout)["sentiment"]["skipped"]
    review = {"type": "track", "event": "Product Reviewed", "userId": "u-zh", "messageId": "zh-1",
              "timestamp": "2026-06-02T10:00:00Z",
              "properties": {"product_id": "sku-0001", "review_body": "质量很好，非常满意",
                             "rating": 5}}
    (tmp_path / "zh.jsonl").write_text(json.dumps(review, ensure_ascii=False) + "\n")
    assert cli("ingest", "zh.jsonl", cwd=tmp_path).returncode == 0
    result = cli("analyze", "sentiment", "--json", cwd=tmp_path, hide="jieba")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: Chinese text (words, keywords, sentiment, content recommenders) needs the "
        "'zh' extra (jieba is not installed): pip install 'tailored[zh]'"]


def test_training_tells_each_stage_as_it_goes(tmp_path: Path) -> None:
    heard: list[tuple[str, int, int]] = []
    train_chinese_sentiment(labelled_csv(tmp_path / "r.csv", repeat=40), test_size=0.25,
                            on_progress=lambda *a: heard.append(a))
    stages = list(dict.fromkeys(stage for stage, _, _ in heard))
    assert stages == ["reading", "words", "characters", "classifier", "judging"]
    for stage in stages:
        counts = [(done, total) for s, done, total in heard if s == stage]
        assert counts[-1][0] == counts[-1][1] > 0, stage  # each stage ends complete
        assert [d for d, _ in counts] == sorted(d for d, _ in counts), stage
    words = [done for s, done, _ in heard if s == "words"]
    assert len(words) >= 2 and words[-1] == 360  # 480 reviews less the quarter held out


def test_sentiment_train_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "r.csv", repeat=40)
    done = cli("analyze", "sentiment-train", "--data", str(data), "--json", cwd=tmp_path,
               env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert done.returncode == 0, done.stderr
    assert "train Chinese sentiment: " in done.stderr
    assert json.loads(done.stdout)["train"] == 384  # stdout stays JSON alone


def test_sentiment_train_default_data_comes_from_the_datasets_setting(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    labelled_csv(datasets / "chinese-reviews" / "online_shopping_10_cats.csv.gz")
    run_in = tmp_path / "somewhere"
    run_in.mkdir()
    db = tmp_path / "store" / "shop.db"
    db.parent.mkdir()
    done = cli("--db", f"sqlite:///{db}", "analyze", "sentiment-train", "--json", cwd=run_in,
               env={"TAILORED_DATASETS": str(datasets)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["data"] == str(datasets / "chinese-reviews" / "online_shopping_10_cats.csv.gz")
    assert report["path"] == str(db.parent / "shop.db.models" / f"{SENTIMENT_MODEL}.npz")
    assert not any(run_in.iterdir()), "nothing is written in the folder the command ran in"
    missing = cli("--db", f"sqlite:///{db}", "analyze", "sentiment-train", cwd=run_in)
    assert missing.returncode == 1
    (line,) = missing.stderr.strip().splitlines()
    assert "give --data PATH" in line and "TAILORED_DATASETS" in line


@pytest.mark.postgres
def test_a_postgres_store_keeps_the_model_in_its_table_apart_from_recommenders(
        tmp_path: Path, postgres_url: str) -> None:
    model, _ = train_chinese_sentiment(labelled_csv(tmp_path / "r.csv"), test_size=0.25)
    with Store.open(postgres_url) as store:
        where = save_sentiment_model(model, store, None)
        assert where == f"table trained_models of {store.url}, row 'sentiment-zh'"
        loaded = load_sentiment_model(store, None)
        assert loaded is not None
        assert loaded.predict(["非常好用，推荐", "太差了，退货"]).tolist() == [1, 0]
        assert SENTIMENT_MODEL not in TableModels(store).trained()
