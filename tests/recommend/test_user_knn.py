"""User-based CF: neighbours found at recommend time, reasons that count them."""

from __future__ import annotations

import pytest

from tailored.errors import InvalidInput
from tailored.recommend import Interactions, Recommender
from tailored.recommend.user_knn import UserKNN
from tests.recommend.test_contract import RecommenderContract, data


def neighbourhood() -> Interactions:
    # Cosine with t (a, b, c): n1 0.866, n2 0.667, twin 1.0 (nothing new), far 0.408.
    people = {"t": "abc", "n1": "abcx", "n2": "aby", "twin": "abc", "far": "cz"}
    users = [u for u, items in people.items() for _ in items]
    items = [i for its in people.values() for i in its]
    return Interactions.from_arrays(users, items)


def ratings(people: dict[str, dict[str, float]]) -> Interactions:
    rows = [(u, i, r) for u, rated in people.items() for i, r in rated.items()]
    return Interactions.from_arrays(*zip(*rows, strict=True))


class TestUserKNN(RecommenderContract):
    def make(self) -> Recommender:
        return UserKNN()

    def test_scores_come_from_the_nearest_neighbours_only(self) -> None:
        model = UserKNN(neighbors=2, shrinkage=0.0).fit(neighbourhood())
        recs = model.recommend("t", k=3)
        assert [r.item_id for r in recs[:2]] == ["x", "y"]
        assert recs[0].score == pytest.approx(3 / (3**0.5 * 2))
        assert recs[1].score == pytest.approx(2 / 3)
        # "far" is not among the two nearest: z is only a popular filler.
        assert recs[2].item_id == "z" and recs[2].reason.startswith("popular")

    def test_a_person_and_their_twin_are_not_their_own_neighbours(self) -> None:
        model = UserKNN(neighbors=1, shrinkage=0.0).fit(neighbourhood())
        recs = model.recommend("t", k=1)
        assert recs[0].item_id == "x"
        assert recs[0].reason == "1 person with similar taste to yours engaged with it"

    def test_reason_counts_the_neighbours_who_engaged(self) -> None:
        d = Interactions.from_arrays(["t", "t", "u", "u", "u", "v", "v", "v"],
                                     ["a", "b", "a", "b", "x", "a", "b", "x"])
        recs = UserKNN().fit(d).recommend("t", k=1)
        assert recs[0].reason == "2 people with similar taste to yours engaged with it"

    def test_a_new_persons_fresh_events_find_neighbours(self) -> None:
        model = UserKNN(neighbors=2, shrinkage=0.0).fit(neighbourhood())
        model.update("newcomer", ["a", "b", "c"])
        assert model.recommend("newcomer", k=2) == model.recommend("t", k=2)

    def test_shrinkage_favours_neighbours_with_more_in_common(self) -> None:
        # n1 shares 2 items with t (cosine 0.447), n2 only 1 (cosine 0.5); shrunk by
        # n / (n + 10) they become 0.075 and 0.045.
        d = Interactions.from_arrays(
            ["t"] * 2 + ["n1"] * 10 + ["n2"] * 2,
            [*"ab", *"abx", *(f"z{n}" for n in range(7)), *"ay"])
        raw = UserKNN(neighbors=1, shrinkage=0.0).fit(d).recommend("t", k=1)
        shrunk = UserKNN(neighbors=1, shrinkage=10.0).fit(d).recommend("t", k=1)
        assert raw[0].item_id == "y" and shrunk[0].item_id == "x"

    def test_pearson_keeps_only_people_whose_ratings_move_with_yours(self) -> None:
        d = ratings({"t": {"a": 5, "b": 1, "c": 3},
                     "alike": {"a": 4, "b": 2, "c": 3, "d": 5},
                     "opposite": {"a": 1, "b": 5, "c": 3, "e": 5}})
        recs = UserKNN(similarity="pearson", shrinkage=0.0).fit(d).recommend("t", k=2)
        assert recs[0].item_id == "d" and recs[0].reason.startswith("1 person")
        assert recs[1].reason.startswith("popular")  # e: only the opposite taste had it
        cosine = UserKNN(similarity="cosine", shrinkage=0.0).fit(d).recommend("t", k=2)
        assert {r.item_id for r in cosine} == {"d", "e"} and not any(
            r.reason.startswith("popular") for r in cosine)

    def test_pearson_over_all_equal_weights_finds_no_one(self) -> None:
        recs = UserKNN(similarity="pearson").fit(data()).recommend("p0", k=2)
        assert all(r.reason.startswith("popular") for r in recs)

    def test_euclidean_prefers_equal_ratings_over_the_same_direction(self) -> None:
        d = ratings({"t": {"a": 5, "b": 5},
                     "same": {"a": 5, "b": 5, "c": 1},
                     "lower": {"a": 1, "b": 1, "d": 5}})
        model = UserKNN(similarity="euclidean", neighbors=1, shrinkage=0.0).fit(d)
        assert model.recommend("t", k=1)[0].item_id == "c"
        both = UserKNN(similarity="euclidean", neighbors=2, shrinkage=0.0).fit(d)
        recs = both.recommend("t", k=2)
        assert recs[0].score == pytest.approx(1.0)  # d = 0: similarity 1, times weight 1
        assert recs[1].score == pytest.approx(5 / (1 + 32**0.5))

    @pytest.mark.parametrize(("params", "field"), [
        ({"similarity": "manhattan"}, "similarity"), ({"neighbors": 0}, "neighbors"),
        ({"shrinkage": -1.0}, "shrinkage")])
    def test_bad_hyperparameters_fail_at_fit(self, params: dict[str, object],
                                             field: str) -> None:
        with pytest.raises(InvalidInput) as error:
            UserKNN(**params).fit(data())  # type: ignore[arg-type]
        assert error.value.field == field
