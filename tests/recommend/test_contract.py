"""The contract every recommender keeps; each model's test class inherits it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tailored.errors import InvalidInput, NotFittedError
from tailored.recommend import (
    MAX_K,
    CatalogView,
    Filters,
    Interactions,
    ItemKNN,
    Popular,
    Recommender,
)

# Two tastes: people p0-p5 like items a0-a4, people q0-q5 like b0-b4; "a4" and "b4" are
# each liked by fewer people. Codes: 10 = order (the strongest signal), 1 = view.
USERS = [f"p{u}" for u in range(6) for _ in range(4)] + [f"q{u}" for u in range(6)
                                                          for _ in range(4)]
ITEMS = [f"a{(u + j) % 5}" for u in range(6) for j in range(4)] + [
    f"b{(u + j) % 5}" for u in range(6) for j in range(4)]
CODES = [10 if j == 0 else 1 for _ in range(12) for j in range(4)]


def data() -> Interactions:
    return Interactions.from_arrays(USERS, ITEMS, signals=CODES,
                                    item_ids=[*(f"a{i}" for i in range(5)),
                                              *(f"b{i}" for i in range(5)), "new-item"])


def catalog(d: Interactions) -> CatalogView:
    view = CatalogView.empty(len(d.item_ids))
    for n, item in enumerate(d.item_ids.tolist()):
        view.titles[n] = f"Title {item}"
        view.categories[n] = "Garden > Tools" if item.startswith("a") else "Books > Crime"
        view.prices[n] = 10.0 if item.startswith("a") else 30.0
    view.available[d.item_index["a0"]] = False
    return view


class RecommenderContract:
    def make(self) -> Recommender:
        raise NotImplementedError

    def fitted(self) -> Recommender:
        d = data()
        return self.make().fit(d, catalog(d))

    def test_fit_returns_self_and_sets_learned_state(self) -> None:
        model = self.make()
        d = data()
        assert model.fit(d) is model
        assert model.interactions_ is d

    def test_recommend_gives_k_distinct_items_each_with_a_reason(self) -> None:
        recs = self.fitted().recommend("p0", k=4)
        assert len(recs) == 4
        assert len({r.item_id for r in recs}) == 4
        assert all(r.reason.strip() for r in recs)
        assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)

    def test_recommend_excludes_what_the_person_has_and_unavailable_items(self) -> None:
        model = self.fitted()
        seen = {i for u, i in zip(USERS, ITEMS, strict=True) if u == "p0"}
        recs = {r.item_id for r in model.recommend("p0", k=6)}
        assert not recs & seen
        assert "a0" not in {r.item_id for r in model.recommend("q0", k=11)}

    def test_include_seen_brings_them_back(self) -> None:
        recs = self.fitted().recommend("p0", k=11, filters=Filters(exclude_seen=False,
                                                                   available_only=False))
        assert len(recs) == 11

    def test_unknown_person_gets_a_cold_start_list_that_says_so(self) -> None:
        recs = self.fitted().recommend("someone new", k=3)
        assert len(recs) == 3
        assert all("don't know" in r.reason for r in recs)

    @pytest.mark.parametrize("k", [0, -1, MAX_K + 1])
    def test_bad_k_is_refused(self, k: int) -> None:
        with pytest.raises(InvalidInput):
            self.fitted().recommend("p0", k=k)

    def test_filters_that_match_nothing_give_an_empty_list(self) -> None:
        model = self.fitted()
        nothing = Filters(brands=("None",))
        assert model.recommend("p0", k=5, filters=nothing) == []
        assert model.why_empty("p0", nothing).startswith("no item is of brand None among")
        cheap_books = Filters(categories=("Books",), price_max=0.01)
        assert model.recommend("p0", k=5, filters=cheap_books) == []
        assert "priced at most 0.01" in model.why_empty("p0", cheap_books)
        assert "in category Books" in model.why_empty("p0", cheap_books)

    def test_category_and_price_filters_apply(self) -> None:
        model = self.fitted()
        books = model.recommend("p0", k=5, filters=Filters(categories=("Books",)))
        assert books and all(r.item_id.startswith("b") for r in books)
        cheap = model.recommend("q0", k=5, filters=Filters(price_max=20))
        assert cheap and all(r.item_id.startswith("a") for r in cheap)

    def test_top_items_in_batches_are_the_lists_recommend_gives(self) -> None:
        model = self.fitted()
        people = [*model.interactions_.user_ids.tolist(), "stranger"]
        model.update("fresh", ["a1"])
        people.append("fresh")
        tops = model.top_items(people, 4, batch=3)
        for person in people:
            assert tops[person] == [r.item_id for r in model.recommend(person, 4)], person

    def test_update_changes_a_persons_list_without_refitting(self) -> None:
        model = self.fitted()
        before = [r.item_id for r in model.recommend("newcomer", k=3)]
        model.update("newcomer", before[:2])
        after = [r.item_id for r in model.recommend("newcomer", k=3)]
        assert after != before
        assert not set(before[:2]) & set(after)  # what they just engaged with is not offered

    def test_save_and_load_give_the_same_lists(self, tmp_path: Path) -> None:
        model = self.fitted()
        model.save(tmp_path / "m.npz", {"note": "x"})
        loaded = Recommender.load(tmp_path / "m.npz")
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        assert loaded.metadata_ == {"note": "x"}
        for user in ("p0", "q3", "unknown"):
            assert loaded.recommend(user, k=4) == model.recommend(user, k=4)

    def test_saved_file_needs_no_pickle(self, tmp_path: Path) -> None:
        self.fitted().save(tmp_path / "m.npz")
        with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
            assert all(z[name].dtype != object for name in z.files)

    def test_forget_removes_a_person_from_the_model_and_its_file(self, tmp_path: Path
                                                                 ) -> None:
        model = self.fitted()
        model.update("p0", ["a1"])  # folded-in events go too
        model.update("visitor", ["b1"])
        assert model.forget(["p0", "visitor", "not-in-the-model"]) == 2
        cold = model.recommend("never-seen", k=4)
        assert "p0" not in model.interactions_.user_ids.tolist()
        # The forgotten get what a stranger gets: no reason cites what they did.
        assert model.recommend("p0", k=4) == cold
        assert model.recommend("visitor", k=4) == cold
        assert len(model.recommend("p1", k=3)) == 3
        assert model.metadata_["forgotten_people"] == 1
        model.save(tmp_path / "m.npz")
        assert "p0".encode("utf-32-le") not in (tmp_path / "m.npz").read_bytes()
        loaded = Recommender.load(tmp_path / "m.npz")
        for user in ("p0", "p1", "q3"):
            assert loaded.recommend(user, k=4) == model.recommend(user, k=4)

    def test_unfitted_model_says_so(self) -> None:
        with pytest.raises(NotFittedError):
            self.make().recommend("p0")

    def test_similar_items_of_an_unknown_item_is_bad_input(self) -> None:
        with pytest.raises(InvalidInput):
            self.fitted().similar_items("nope")

    def test_similar_items_stay_within_a_taste(self) -> None:
        similar = self.fitted().similar_items("a1", k=3)
        assert len(similar) == 3 and all(r.item_id.startswith("a") for r in similar)
        assert all("Title a1" in r.reason for r in similar)

    def test_empty_interactions_are_refused(self) -> None:
        with pytest.raises(InvalidInput):
            Interactions.from_arrays([], [])


class TestPopular(RecommenderContract):
    def make(self) -> Recommender:
        return Popular()

    def test_most_engaged_first(self) -> None:
        recs = Popular().fit(data()).recommend("nobody", k=10)
        assert {r.item_id for r in recs[:8]} == {f"{t}{i}" for t in "ab" for i in range(4)} \
            or len(recs) == 10


class TestItemKNN(RecommenderContract):
    def make(self) -> Recommender:
        return ItemKNN(neighbors=20, shrinkage=1.0)

    def test_recommends_within_the_persons_taste_with_a_reason_naming_the_source(
            self) -> None:
        recs = self.fitted().recommend("p0", k=1)
        assert recs[0].item_id.startswith("a")
        assert recs[0].reason.startswith("because you") and "Title a" in recs[0].reason

    def test_reason_uses_the_strongest_signal(self) -> None:
        model = self.fitted()
        # p0's first item (an order) is the source of some recommendation.
        reasons = [r.reason for r in model.recommend("p0", k=1)]
        assert any("bought" in r or "viewed" in r for r in reasons)

    @pytest.mark.parametrize("similarity", ["cosine", "jaccard"])
    def test_every_similarity_works(self, similarity: str) -> None:
        recs = ItemKNN(similarity=similarity).fit(data()).recommend("q1", k=1)
        assert recs[0].item_id.startswith("b") and recs[0].reason.startswith("because")

    def test_pearson_keeps_only_positive_correlations(self) -> None:
        # Each person's mean is removed: x and y are rated high together, z against them.
        d = Interactions.from_arrays(["u1"] * 3 + ["u2"] * 3 + ["u3"] * 2,
                                     ["x", "y", "z"] * 2 + ["x", "z"],
                                     [5, 5, 1, 4, 5, 1, 5, 1])
        model = ItemKNN(similarity="pearson", shrinkage=0.0).fit(d)
        recs = model.recommend("u3", k=1)
        assert recs[0].item_id == "y" and recs[0].reason.startswith("because")

    def test_bad_hyperparameters_fail_at_fit(self) -> None:
        with pytest.raises(ValueError, match="similarity"):
            ItemKNN(similarity="manhattan").fit(data())
