"""Co-occurrence: counts and conditional probabilities by hand, "together" and "then"."""

from __future__ import annotations

import numpy as np
import pytest

from tailored.errors import InvalidInput
from tailored.recommend import Interactions, Recommender
from tailored.recommend.cooccurrence import Cooccurrence
from tailored.recommend.interactions import SIGNALS
from tests.recommend.test_contract import RecommenderContract, catalog, data

ORDER, VIEW = SIGNALS.index("order") + 1, SIGNALS.index("view") + 1


def baskets(people: dict[str, str], signals: dict[str, str] | None = None) -> Interactions:
    """One letter an item; ``signals`` gives each person's signal letters (o/v)."""
    users = [u for u, items in people.items() for _ in items]
    items = [i for its in people.values() for i in its]
    codes = None if signals is None else [
        ORDER if s == "o" else VIEW for u in people for s in signals[u]]
    return Interactions.from_arrays(users, items, signals=codes)


class TestCooccurrence(RecommenderContract):
    def make(self) -> Recommender:
        return Cooccurrence()

    def test_probability_is_people_with_both_over_people_with_the_first(self) -> None:
        # x: a b c; y: a b d; z: c d e. Pairs: xy 2, xz 1, yz 1.
        d = baskets({"a": "xy", "b": "xy", "c": "xz", "d": "yz", "e": "z"})
        p = Cooccurrence(min_support=1).fit(d).probability_.toarray()
        by_hand = np.array([[0, 2 / 3, 1 / 3], [2 / 3, 0, 1 / 3], [1 / 3, 1 / 3, 0]])
        np.testing.assert_allclose(p, by_hand)

    def test_min_support_drops_rare_pairs(self) -> None:
        d = baskets({"a": "xy", "b": "xy", "c": "xz", "d": "yz", "e": "z"})
        p = Cooccurrence(min_support=2).fit(d).probability_.toarray()
        np.testing.assert_allclose(p, np.array([[0, 2 / 3, 0], [2 / 3, 0, 0], [0, 0, 0]]))

    def test_a_persons_score_sums_over_their_items_with_the_strongest_as_reason(self) -> None:
        d = baskets({"a": "xyw", "b": "xyw", "c": "xzw", "d": "yz", "e": "z", "f": "zw"})
        model = Cooccurrence(min_support=1).fit(d)
        model.update("newcomer", ["x", "z"])
        recs = model.recommend("newcomer", k=2)
        # w: P(w|x) + P(w|z) = 3/3 + 2/4; y: P(y|x) + P(y|z) = 2/3 + 1/4.
        assert [r.item_id for r in recs] == ["w", "y"]
        assert [r.score for r in recs] == pytest.approx([1.5, 2 / 3 + 1 / 4])
        assert [r.reason for r in recs] == ["often chosen together with x"] * 2

    def test_says_bought_together_when_learned_from_orders_only(self) -> None:
        d = baskets({"a": "xy", "b": "xy", "c": "x"}, {"a": "oo", "b": "oo", "c": "o"})
        assert Cooccurrence().fit(d).recommend("c", k=1)[0].reason == \
            "often bought together with x"

    def test_titles_name_the_source_item(self) -> None:
        d = data()
        recs = Cooccurrence().fit(d, catalog(d)).recommend("p0", k=1)
        assert recs[0].item_id == "a4"
        assert recs[0].reason.startswith('often chosen together with "Title a')

    @pytest.mark.parametrize(("params", "field"), [
        ({"mode": "after"}, "mode"), ({"min_support": 0}, "min_support"),
        ({"min_support": 1.5}, "min_support")])
    def test_bad_hyperparameters_fail_at_fit(self, params: dict[str, object],
                                             field: str) -> None:
        with pytest.raises(InvalidInput) as error:
            Cooccurrence(**params).fit(data())  # type: ignore[arg-type]
        assert error.value.field == field


class TestCooccurrenceThen(RecommenderContract):
    def make(self) -> Recommender:
        return Cooccurrence(mode="then", min_support=1)

    def test_counts_people_who_viewed_one_item_and_bought_another(self) -> None:
        # Viewed x without buying: a, b, c (3); of them a and b bought y, c bought z.
        # d bought x and y: bought together, which is not "viewed then bought".
        d = baskets({"a": "xy", "b": "xy", "c": "xz", "d": "xy"},
                    {"a": "vo", "b": "vo", "c": "vo", "d": "oo"})
        model = Cooccurrence(mode="then", min_support=1).fit(d)
        p = model.probability_.toarray()
        np.testing.assert_allclose(p[0], [0, 2 / 3, 1 / 3])
        np.testing.assert_allclose(p[1:], 0)  # no one viewed y or z without buying it
        model.update("newcomer", ["x"], signals=["view"])
        recs = model.recommend("newcomer", k=2)
        assert [r.item_id for r in recs] == ["y", "z"]
        assert recs[0].reason == "people who viewed x bought it"

    def test_data_without_orders_is_refused_with_advice(self) -> None:
        with pytest.raises(InvalidInput, match="together") as error:
            Cooccurrence(mode="then").fit(baskets({"a": "xy", "b": "xy"}))
        assert error.value.field == "mode"
