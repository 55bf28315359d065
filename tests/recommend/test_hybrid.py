"""Hybrid: the contract, learned weights, both blends, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tailored.errors import InvalidInput
from tailored.recommend import Interactions, Recommender
from tailored.recommend.hybrid import Hybrid, carve_validation
from tailored.recommend.registry import MODELS
from tests.recommend.test_contract import RecommenderContract, catalog, data


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODELS, Hybrid.name, Hybrid)


class TestHybridWeighted(RecommenderContract):
    def make(self) -> Recommender:
        return Hybrid(models=("item-knn", "ease", "popular"))


class TestHybridRank(RecommenderContract):
    def make(self) -> Recommender:
        return Hybrid(models=("item-knn", "popular"), blend="rank", weights=(0.8, 0.2))


def _clustered() -> Interactions:
    """Two tastes of 12 items each, 30 people per taste with 6 items of theirs, and a few
    very popular items across tastes: item-knn ranks held-out items far better than
    popularity."""
    rng = np.random.default_rng(1)
    users, items = [], []
    for taste in "ab":
        for u in range(30):
            for i in rng.choice(12, size=6, replace=False):
                users.append(f"{taste}{u}")
                items.append(f"{taste}-{i}")
            users.append(f"{taste}{u}")
            items.append(f"hit-{u % 2}")
    return Interactions.from_arrays(users, items)


def test_learned_weights_favour_the_better_model() -> None:
    model = Hybrid(models=("item-knn", "popular")).fit(_clustered())
    assert model.weights_[0] > model.weights_[1]
    assert model.validation_ndcg_ is not None and model.validation_ndcg_ > 0
    assert model.weights_.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("blend", ["weighted", "rank"])
def test_both_blends_recommend_within_the_taste(blend: str) -> None:
    model = Hybrid(models=("item-knn", "popular"), blend=blend).fit(_clustered())
    recs = model.recommend("a0", k=3)
    assert len(recs) == 3 and all(r.reason for r in recs)
    assert recs[0].item_id.startswith("a-")


def test_reason_comes_from_the_model_contributing_most() -> None:
    d = data()
    only_popular = Hybrid(models=("item-knn", "popular"), weights=(0.0, 1.0)).fit(d)
    assert all(r.reason.startswith("popular") for r in only_popular.recommend("p0", k=3))
    only_knn = Hybrid(models=("item-knn", "popular"), weights=(1.0, 0.0)).fit(d)
    assert only_knn.recommend("p0", k=1)[0].reason.startswith("because you")


def test_save_and_load_keep_weights_and_sub_models(tmp_path: Path) -> None:
    d = data()
    model = Hybrid(models=("item-knn", "ease", "popular"), blend="rank").fit(d, catalog(d))
    model.save(tmp_path / "h.npz")
    loaded = Recommender.load(tmp_path / "h.npz")
    assert isinstance(loaded, Hybrid)
    np.testing.assert_allclose(loaded.weights_, model.weights_)
    assert [type(m) for m in loaded.models_] == [type(m) for m in model.models_]
    for user in ("p1", "q2"):
        assert loaded.recommend(user, k=5) == model.recommend(user, k=5)


def test_update_reaches_the_sub_models_reasons() -> None:
    model = Hybrid(models=("item-knn",), weights=(1.0,)).fit(data())
    model.update("newcomer", ["a1"], signals=["order"])
    recs = model.recommend("newcomer", k=2)
    assert recs and "bought" in recs[0].reason


def test_validation_keeps_people_with_one_item_in_training() -> None:
    d = Interactions.from_arrays(["a", "a", "a", "a", "b"], ["w", "x", "y", "z", "x"])
    train, held = carve_validation(d, 0.5, 0)  # type: ignore[misc]
    assert train.matrix[d.user_index["b"]].nnz == 1 and held[d.user_index["b"]].nnz == 0
    assert train.matrix[d.user_index["a"]].nnz == 2 and held[d.user_index["a"]].nnz == 2
    assert carve_validation(Interactions.from_arrays(["a", "b"], ["x", "x"]), 0.5, 0) is None


@pytest.mark.parametrize("kwargs", [{"blend": "mean"}, {"models": ("nope",)},
                                    {"models": ("ease",), "weights": (1.0, 2.0)},
                                    {"validation_fraction": 1.5}])
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Hybrid(**kwargs).fit(data())  # type: ignore[arg-type]
