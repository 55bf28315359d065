"""Text before words: HTML references undone, words jieba cuts apart reported, a user
dictionary keeps them whole; and review corpora without user ids loaded by the CSV import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tailored.analytics.keywords import count_words, group_keywords
from tailored.analytics.sentiment import ChineseSentiment
from tailored.analytics.split_words import SplitWords
from tailored.analytics.tokens import load_user_dictionary, segment, words
from tailored.cli.app import app
from tailored.errors import InvalidInput
from tailored.ingest.sources.tabular import read_table
from tests.conftest import DATASETS

# A made-up name jieba's dictionary cannot know: it cuts it into known pieces.
NAME = "杜拉拉"
SPLIT_REVIEWS = [f"{NAME}升职记很好看，推荐", f"喜欢{NAME}这本书", f"{NAME}的故事不错"] * 3


@pytest.fixture
def forget_name() -> Iterator[None]:
    yield
    import jieba

    jieba.del_word(NAME)


def test_html_references_are_undone_before_words() -> None:
    escaped = "质量很好&hellip;&hellip;物流&amp;quot;快&amp;quot;"
    assert words(escaped) == words("质量很好……物流\"快\"")
    assert "hellip" not in words("质量很好&hellip;") and "quot" not in words("好&amp;quot;")
    assert words("Great &amp; cheap, it&#39;s &quot;fine&quot;&hellip;") == ["great", "cheap",
                                                                         "fine"]
    assert segment("A&nbsp;b", "en") == ["a", "b"]


def test_chinese_sentiment_reads_references_as_their_characters() -> None:
    model = ChineseSentiment(min_df=1).fit(
        ["质量很好…很满意", "非常好用，推荐", "太差了…退货", "质量差，失望"], [1, 1, 0, 0])
    assert model.predict_proba(["很满意&hellip;"]).tolist() == model.predict_proba(
        ["很满意…"]).tolist()


def test_words_jieba_cuts_apart_are_reported(forget_name: None) -> None:
    found = count_words(SPLIT_REVIEWS)["split_words"]
    assert found[0]["word"] == NAME and found[0]["count"] == 9
    assert "".join(found[0]["parts"]) == NAME and len(found[0]["parts"]) == 2
    assert NAME not in words(SPLIT_REVIEWS[0])
    # English has no such report; too rare a pair is none either.
    assert count_words(["it is what it is"] * 9)["split_words"] == []
    assert count_words(SPLIT_REVIEWS[:3])["split_words"] == []
    split = SplitWords()
    group_keywords({"a": SPLIT_REVIEWS[:6], "b": SPLIT_REVIEWS[6:]}, split=split)
    assert split.report()[0]["word"] == NAME


def test_a_user_dictionary_keeps_a_word_whole(tmp_path: Path, forget_name: None) -> None:
    path = tmp_path / "words.txt"
    path.write_text(f"# names\n{NAME} 10 nr\n\n", encoding="utf-8")
    assert load_user_dictionary(path) == 1
    assert NAME in words(SPLIT_REVIEWS[0])
    assert count_words(SPLIT_REVIEWS)["split_words"] == []


def test_a_bad_user_dictionary_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no user dictionary") as caught:
        load_user_dictionary(tmp_path / "missing.txt")
    assert caught.value.field == "user_dict"
    bad = tmp_path / "bad.txt"
    bad.write_text("词语 many\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 1: the frequency"):
        load_user_dictionary(bad)


def _reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text("cat,label,review\n书籍,1," + "\n书籍,1,".join(SPLIT_REVIEWS) +
                    "\n水果,0,不新鲜&hellip;\n", encoding="utf-8")
    return path


def test_rows_without_user_ids_load_as_one_anonymous_person_each(tmp_path: Path) -> None:
    path = _reviews(tmp_path)
    mapping = {"properties.review_body": "review", "item_id": "cat"}
    with pytest.raises(ValueError, match="--anonymous-rows"):
        list(read_table(path, fmt="csv", kind="events", mapping=mapping, event_name="x"))
    records = list(read_table(path, fmt="csv", kind="events", mapping=mapping,
                              event_name="Product Reviewed", anonymous_rows=True))
    ids = [r.data["anonymousId"] for r in records]
    assert len(set(ids)) == len(records) == 10
    again = list(read_table(path, fmt="csv", kind="events", mapping=mapping,
                            event_name="Product Reviewed", anonymous_rows=True))
    assert [r.data["anonymousId"] for r in again] == ids  # stable: importing twice adds nothing
    with pytest.raises(ValueError, match="for events, not items"):
        list(read_table(path, fmt="csv", kind="items", mapping={"item_id": "cat"},
                        anonymous_rows=True))


def test_review_corpus_to_words_and_keywords_from_the_cli(tmp_path: Path,
                                                          forget_name: None) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    r = runner.invoke(app, ["--db", db, "import", "csv", str(_reviews(tmp_path)), "--event",
                            "Product Reviewed", "--map", "properties.review_body=review",
                            "--map", "item_id=cat", "--anonymous-rows", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["accepted"] == 10
    r = runner.invoke(app, ["--db", db, "analyze", "words", "--kind", "review", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["texts"] == 10 and data["split_words"][0]["word"] == NAME
    assert not any(w["word"] == "hellip" for w in data["top"])
    r = runner.invoke(app, ["--db", db, "analyze", "words", "--kind", "review"])
    assert "jieba probably cut these words apart: 杜拉拉" in r.stdout and "--user-dict" in r.stdout
    user_dict = tmp_path / "words.txt"
    user_dict.write_text(NAME + "\n", encoding="utf-8")
    r = runner.invoke(app, ["--db", db, "analyze", "keywords", "--by", "item", "--kind",
                            "review", "--user-dict", str(user_dict), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["user_dict_words"] == 1 and data["split_words"] == []
    assert NAME in [k["word"] for k in data["keywords"]["书籍"]["keywords"]]


@pytest.mark.dataset
def test_the_chinese_corpus_loads_without_user_ids(tmp_path: Path) -> None:
    path = DATASETS / "chinese-reviews" / "waimai_10k.csv.gz"
    if not path.exists():
        pytest.skip(f"no {path}")
    records = list(read_table(path, fmt="csv", kind="events",
                              mapping={"properties.review_body": "review",
                                       "properties.label": "label"},
                              event_name="Product Reviewed", anonymous_rows=True))
    assert len(records) == 11_987 and all(r.kind == "event" for r in records)
