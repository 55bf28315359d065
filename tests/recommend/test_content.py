"""Content-based: the contract, new items from day one, Chinese words, attributes, reasons."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tailored.errors import InvalidInput
from tailored.recommend import Interactions, Recommender
from tailored.recommend.content import ContentBased
from tailored.recommend.side import SideData
from tests.conftest import dataset
from tests.recommend.test_contract import RecommenderContract

SHOP = [
    {"item_id": "huawei", "title": "华为旗舰手机", "category": ["数码", "手机"],
     "brand": "华为", "price": 4999.0},
    {"item_id": "xiaomi", "title": "小米手机 5G", "category": ["数码", "手机"],
     "brand": "小米", "price": 1999.0},
    {"item_id": "shoes", "title": "男士运动鞋", "category": ["服饰", "鞋"], "brand": "李宁",
     "price": 399.0},
    {"item_id": "new-phone", "title": "荣耀手机", "category": ["数码", "手机"],
     "brand": "荣耀", "price": 2999.0},
]


def shop(users: list[str], items: list[str]) -> Interactions:
    return Interactions.from_arrays(users, items, item_ids=[r["item_id"] for r in SHOP])


class TestContentBased(RecommenderContract):
    """The contract's catalogue gives titles, categories and prices, and no item records."""

    def make(self) -> Recommender:
        return ContentBased()

    def test_recommends_within_the_persons_taste_naming_what_they_share(self) -> None:
        recs = self.fitted().recommend("p0", k=1)
        assert recs[0].item_id == "a4"
        assert recs[0].reason == "matches your interest in Garden > Tools"

    def test_a_new_item_nobody_engaged_with_is_recommended_when_it_matches(self) -> None:
        d = shop(["ann", "bob"], ["huawei", "shoes"])
        model = ContentBased().with_items(SHOP).fit(d)
        recs = model.recommend("ann", k=2)
        assert [r.item_id for r in recs] == ["new-phone", "xiaomi"]
        assert recs[0].reason == 'new and similar to "华为旗舰手机"'
        assert [r.item_id for r in model.similar_items("huawei", k=2)] == ["new-phone",
                                                                           "xiaomi"]

    def test_chinese_titles_are_cut_into_words(self) -> None:
        # Text only: "华为旗舰手机" and "小米手机 5G" share no token unless 手机 is cut out.
        d = shop(["ann", "bob"], ["huawei", "xiaomi"])
        model = ContentBased(attribute_weight=0.0).with_items(SHOP).fit(d)
        assert "手机" in model.feature_names_.tolist()
        recs = {r.item_id: r for r in model.recommend("ann", k=3)}
        assert recs["xiaomi"].reason == "matches your interest in 手机"
        assert recs["xiaomi"].score > recs["shoes"].score
        assert recs["shoes"].reason.startswith("popular")  # shares no word: not by content

    def test_attributes_alone_find_the_same_category_brand_and_price_band(self) -> None:
        d = shop(["ann", "bob", "bob"], ["huawei", "xiaomi", "shoes"])
        model = ContentBased(attribute_weight=1.0).with_items(SHOP).fit(d)
        recs = model.recommend("ann", k=2)
        assert {r.item_id for r in recs} == {"xiaomi", "new-phone"}
        assert recs[0].score == pytest.approx(recs[1].score)  # same category, other brands
        reasons = {r.item_id: r.reason for r in recs}
        assert reasons["xiaomi"] == "matches your interest in 数码 > 手机"
        assert reasons["new-phone"] == 'new and similar to "华为旗舰手机"'

    def test_attribute_weight_splits_the_similarity_between_text_and_attributes(
            self) -> None:
        d = shop(["ann"], ["huawei"])
        text = ContentBased(attribute_weight=0.0).with_items(SHOP).fit(d)
        attributes = ContentBased(attribute_weight=1.0).with_items(SHOP).fit(d)
        mixed = ContentBased(attribute_weight=0.3).with_items(SHOP).fit(d)

        def similarity(model: ContentBased) -> float:
            return next(r.score for r in model.similar_items("huawei", k=3)
                        if r.item_id == "xiaomi")

        assert similarity(mixed) == pytest.approx(0.7 * similarity(text) +
                                                  0.3 * similarity(attributes))

    def test_new_events_rescore_at_once(self) -> None:
        model = ContentBased().with_items(SHOP).fit(shop(["ann", "bob"], ["huawei", "shoes"]))
        model.update("visitor", ["shoes"])
        assert model.recommend("visitor", k=1)[0].item_id != "new-phone"
        model.update("visitor", ["xiaomi", "huawei"], weights=[5.0, 5.0])
        assert model.recommend("visitor", k=1)[0].item_id == "new-phone"

    def test_item_records_fill_the_titles_reasons_and_filters_use(self) -> None:
        model = ContentBased().with_items(SHOP).fit(shop(["ann"], ["huawei"]))
        assert model.catalog_.titles.tolist() == [r["title"] for r in SHOP]
        assert model.catalog_.categories[0] == "数码 > 手机"

    def test_items_from_a_snapshot_give_description_and_tags(self, tmp_path: Path) -> None:
        rows: list[dict[str, Any]] = [
            {"item_id": "t1", "title": "Trail runner", "description": "Light shoe for mud",
             "tags": ["running", "waterproof"], "category": ["Shoes"], "brand": "Peak",
             "price": 120.0},
            {"item_id": "t2", "title": "Road runner", "description": None,
             "tags": ["waterproof"], "category": ["Shoes"], "brand": None, "price": None},
            {"item_id": "t3", "title": "Kettle", "description": "Boils water fast",
             "tags": [], "category": ["Kitchen"], "brand": "Peak", "price": 30.0},
        ]
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / "items.parquet")
        records = list(SideData.from_snapshot(tmp_path).items)
        assert [r["item_id"] for r in records] == ["t1", "t2", "t3"]
        data = Interactions.from_arrays(["ann"], ["t1"], item_ids=["t1", "t2", "t3"])
        model = ContentBased(attribute_weight=0.0).with_items(records).fit(data)
        recs = model.recommend("ann", k=2)
        assert recs[0].item_id == "t2"
        assert "waterproof" in model.feature_names_.tolist()

    def test_a_snapshot_without_items_gives_no_records(self, tmp_path: Path) -> None:
        assert SideData.from_snapshot(tmp_path).items == ()

    def test_an_item_record_without_an_id_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            ContentBased().with_items([{"title": "no id"}])

    @pytest.mark.parametrize("weight", [-0.1, 1.5])
    def test_bad_attribute_weight_fails_at_fit(self, weight: float) -> None:
        with pytest.raises(ValueError, match="attribute_weight"):
            ContentBased(attribute_weight=weight).fit(shop(["ann"], ["huawei"]))

    def test_saved_model_keeps_its_features(self, tmp_path: Path) -> None:
        model = ContentBased(ngram_range=(1, 1)).with_items(SHOP).fit(
            shop(["ann"], ["huawei"]))
        model.save(tmp_path / "m.npz")
        loaded = Recommender.load(tmp_path / "m.npz")
        assert isinstance(loaded, ContentBased)
        assert loaded.get_params()["ngram_range"] == (1, 1)
        assert (loaded.features_ != model.features_).nnz == 0
        np.testing.assert_array_equal(loaded.feature_names_, model.feature_names_)
        assert loaded.recommend("ann", k=3) == model.recommend("ann", k=3)


@pytest.mark.dataset
def test_movielens_genres_and_tags_find_toy_story_2_for_toy_story() -> None:
    folder = dataset("ml-latest-small")
    with gzip.open(folder / "movies.csv.gz", "rt", encoding="utf-8") as f:
        movies = list(csv.DictReader(f))
    with gzip.open(folder / "tags.csv.gz", "rt", encoding="utf-8") as f:
        tags: dict[str, list[str]] = {}
        for row in csv.DictReader(f):
            tags.setdefault(row["movieId"], []).append(row["tag"])
    records = [{"item_id": m["movieId"], "title": m["title"],
                "tags": [*m["genres"].split("|"), *tags.get(m["movieId"], [])]}
               for m in movies]
    ids = [m["movieId"] for m in movies]
    model = ContentBased().with_items(records).fit(
        Interactions.from_arrays(["someone"], ["1"], item_ids=ids))
    similar = model.similar_items("1", k=5)  # Toy Story (1995)
    assert "3114" in [r.item_id for r in similar]  # Toy Story 2 (1999)
    assert all(r.reason == 'new and similar to "Toy Story (1995)"' for r in similar)
