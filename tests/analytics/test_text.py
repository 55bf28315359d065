"""Text analytics: words and stop words in English and Chinese, hand-counted frequencies and
keywords, and the texts read from a snapshot the same way on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tailored.analytics import (
    count_words,
    group_keywords,
    grouped_texts,
    keywords,
    language_of,
    opened,
    stop_words,
    texts,
    word_frequency,
    words,
)
from tailored.catalog import Item
from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.segments.membership import record_membership
from tailored.store import Store
from tailored.store.snapshots import export_snapshot

DAY0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


# -- words ---------------------------------------------------------------------------------

def test_english_words_are_lower_cased_without_stop_words_numbers_or_punctuation() -> None:
    assert words("The battery is GREAT, it's great! 5 stars; don't buy 2 of them.") == [
        "battery", "great", "great", "stars", "buy"]


def test_english_words_keep_stop_words_when_asked() -> None:
    assert words("The battery is great", stop=False) == ["the", "battery", "is", "great"]


def test_chinese_text_is_segmented_by_jieba_and_stop_words_dropped() -> None:
    assert words("质量很好，物流也快，非常满意！") == ["质量", "物流", "快", "非常", "满意"]
    # "也" and "很" are on the shipped Chinese list; punctuation is never a word.
    assert words("物流也快！", stop=False) == ["物流", "也", "快"]
    assert {"也", "的", "了"} <= stop_words("zh")


def test_language_is_chinese_when_a_chinese_character_is_present() -> None:
    assert language_of("Great phone") == "en"
    assert language_of("iPhone 很好用") == "zh"


def test_unknown_language_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput, match="language must be one of auto, en, zh") as exc:
        words("hello", language="fr")
    assert exc.value.field == "language"


# -- frequency and keywords ------------------------------------------------------------------

def test_count_words_counts_by_hand() -> None:
    result = count_words(
        ["Great battery, great screen.", "Terrible battery.", "电池很好，电池耐用"], top=3)
    assert result["texts"] == 3
    assert result["languages"] == {"en": 2, "zh": 1}
    # battery 2, great 2, 电池 2, screen 1, terrible 1, 耐用 1: 9 words.
    assert result["words"] == 9
    assert [(r["word"], r["count"]) for r in result["top"]] == [
        ("battery", 2), ("great", 2), ("电池", 2)]
    assert result["top"][0]["share"] == round(2 / 9, 4)


def test_count_words_of_an_empty_corpus_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="no texts"):
        count_words([])


def test_keywords_of_a_group_are_its_own_words_first() -> None:
    found = group_keywords({
        "phones": ["battery lasts long", "battery and screen", "great screen"],
        "books": ["great story", "story and characters", "characters"],
    }, top=2)
    # "great" is in both groups, so it weighs less than words only one group uses.
    assert [k["word"] for k in found["phones"]] == ["battery", "screen"]
    assert [k["word"] for k in found["books"]] == ["characters", "story"]
    assert found["phones"][0]["count"] == 2


def test_keywords_need_words_left_after_stop_words() -> None:
    with pytest.raises(InvalidInput, match="no words left"):
        group_keywords({"a": ["the and of"], "b": ["it is"]})


# -- from a snapshot ---------------------------------------------------------------------------

def _track(user: str, event: str, n: int, **props: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, "messageId": f"{user}-{n}",
            "timestamp": (DAY0 + timedelta(days=n)).isoformat(), "properties": props}


EVENTS = [
    {"type": "identify", "userId": "ann", "messageId": "ann-0", "timestamp": DAY0.isoformat(),
     "traits": {"plan": "pro"}},
    {"type": "identify", "userId": "bo", "messageId": "bo-0", "timestamp": DAY0.isoformat(),
     "traits": {"plan": "free"}},
    _track("ann", "Product Reviewed", 1, product_id="sku1", review_body="Great pan, great lid.",
           rating=5),
    _track("ann", "Products Searched", 2, query="red pan"),
    _track("bo", "Product Reviewed", 3, product_id="sku2", review_body="故事很精彩，值得一读",
           rating=4),
    _track("bo", "Survey Answered", 4, survey="csat", score=2, comment="Delivery was slow"),
    _track("bo", "Product Reviewed", 5, product_id="sku1", rating=3),  # a rating, no text
]
ITEMS = [Item(item_id="sku1", title="Iron pan", category=["Home", "Kitchen"], price=30),
         Item(item_id="sku2", title="A novel", category=["Books"], price=9)]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    try:
        store.upsert_items(ITEMS)
        report = Ingestor(store).ingest_events(EVENTS)
        assert not report.rejected, report.rejected
        export_snapshot(store, folder / "snap")
    finally:
        store.close()
    return folder / "snap"


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("segmented")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    try:
        store.upsert_items(ITEMS)
        Ingestor(store).ingest_events(EVENTS)
        ids = {p["user_id"]: p["profile_id"] for p in store.profiles(10)}
        record_membership(store, "vip", [ids["ann"], ids["bo"]])
        record_membership(store, "readers", [ids["bo"]])
        export_snapshot(store, folder / "snap")
    finally:
        store.close()
    return folder / "snap"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_url")
    return "duckdb", None


def test_texts_reads_reviews_searches_and_feedback(snapshot: Path, backend: Any) -> None:
    name, url = backend
    with opened(snapshot, name, url=url, schema="b_text") as source:
        rows = sorted(texts(source).to_pyarrow().to_pylist(), key=lambda r: r["text"])
    assert [[r["kind"], r["item_id"], r["text"], r["rating"]] for r in rows] == [
        ["feedback", None, "Delivery was slow", None],
        ["review", "sku1", "Great pan, great lid.", "5"],
        ["search", None, "red pan", None],
        ["review", "sku2", "故事很精彩，值得一读", "4"],
    ]


def test_texts_of_items_are_title_description_and_tags(snapshot: Path) -> None:
    with opened(snapshot) as source:
        rows = texts(source, kinds=["item"]).execute().sort_values("item_id")
    assert rows["text"].tolist() == ["Iron pan", "A novel"]


def test_grouped_texts_by_category_and_trait(snapshot: Path, backend: Any) -> None:
    name, url = backend
    with opened(snapshot, name, url=url, schema="b_text") as source:
        by_cat = grouped_texts(source, by="category", kinds=["review"]).execute()
        by_plan = grouped_texts(source, by="trait:plan").execute()
    assert sorted(zip(by_cat["group"], by_cat["item_id"], strict=True)) == [
        ("Books", "sku2"), ("Home", "sku1")]
    assert sorted(by_plan.groupby("group").size().items()) == [("free", 2), ("pro", 2)]


def test_grouped_texts_by_segment_count_a_text_in_each_of_its_segments(
        segmented: Path, backend: Any) -> None:
    name, url = backend
    with opened(segmented, name, url=url, schema="b_text_seg") as source:
        result = keywords(source, by="segment", kinds=["review"], top=5)
    assert result["keywords"]["vip"]["texts"] == 2
    assert result["keywords"]["readers"]["texts"] == 1
    # 故事/很/精彩/，/值得/一读 less the stop word 很; equal weights, so in code-point order.
    assert [k["word"] for k in result["keywords"]["readers"]["keywords"]] == [
        "一读", "值得", "故事", "精彩"]


def test_grouping_by_segment_without_segments_says_what_to_do(snapshot: Path) -> None:
    with opened(snapshot) as source, pytest.raises(InvalidInput, match="trait:KEY") as exc:
        grouped_texts(source, by="segment")
    assert exc.value.field == "by"


def test_word_frequency_of_the_snapshot(snapshot: Path, backend: Any) -> None:
    name, url = backend
    with opened(snapshot, name, url=url, schema="b_text") as source:
        result = word_frequency(source, top=2)
    assert result["texts"] == 4
    # great pan great lid | red pan | 故事 精彩 值得 一读 | delivery slow: 12 words.
    assert result["words"] == 12
    assert result["top"] == [{"word": "great", "count": 2, "share": round(2 / 12, 4)},
                             {"word": "pan", "count": 2, "share": round(2 / 12, 4)}]
    assert result["by_kind"]["search"]["top"][0]["word"] in {"red", "pan"}


def test_keywords_per_item(snapshot: Path) -> None:
    with opened(snapshot) as source:
        result = keywords(source, by="item", kinds=["review", "item"], top=2)
    assert result["keywords"]["sku1"]["texts"] == 2
    # sku1: great ×2, pan ×2 (review and title), lid, iron; no word shared with sku2.
    assert [(k["word"], k["count"]) for k in result["keywords"]["sku1"]["keywords"]] == [
        ("great", 2), ("pan", 2)]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kinds": ["tweets"]}, "kinds"), ({"kinds": []}, "kinds"), ({"by": "colour"}, "by"),
    ({"by": "trait:"}, "by"), ({"top": 0}, "top"), ({"language": "de"}, "language")])
def test_bad_options_name_the_field(snapshot: Path, kwargs: dict[str, Any], field: str) -> None:
    with opened(snapshot) as source, pytest.raises(InvalidInput) as exc:
        keywords(source, **kwargs)
    assert exc.value.field == field


def test_a_misspelt_kind_or_grouping_gets_a_suggestion(snapshot: Path) -> None:
    with opened(snapshot) as source:
        with pytest.raises(InvalidInput, match="did you mean 'review'"):
            texts(source, kinds=["reviews"])
        with pytest.raises(InvalidInput, match="did you mean 'category'"):
            grouped_texts(source, by="categroy")


def test_no_texts_of_a_kind_is_a_clear_error(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        Ingestor(store).ingest_events([_track("ann", "Product Viewed", 1, product_id="sku1")])
        export_snapshot(store, tmp_path / "snap")
    finally:
        store.close()
    with opened(tmp_path / "snap") as source, pytest.raises(InvalidInput,
                                                            match="no texts of kind review"):
        word_frequency(source, kinds=["review"])


def test_tags_are_texts_and_an_empty_grouping_says_why(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        store.upsert_items([Item(item_id="m1", title="Heat", tags=["Crime"])])  # no category
        Ingestor(store).ingest_events([_track("ann", "Product Tagged", 1, product_id="m1",
                                              tag="slow burn"),
                                       _track("bo", "Product Tagged", 2, product_id="m1",
                                              tag="great heist")])
        export_snapshot(store, tmp_path / "snap")
    finally:
        store.close()
    with opened(tmp_path / "snap") as source:
        by_item = keywords(source, by="item", kinds=["tag"])
        assert by_item["keywords"]["m1"]["texts"] == 2
        with pytest.raises(InvalidInput, match="belongs to any category group") as exc:
            keywords(source, by="category", kinds=["tag"])
    assert exc.value.field == "by"
