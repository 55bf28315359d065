"""EASE: the closed form checked by hand, fold-in and reasons."""

from __future__ import annotations

import numpy as np
import pytest

from tailored.errors import InvalidInput
from tailored.recommend import CatalogView, Interactions, Recommender
from tailored.recommend.ease import EASE
from tailored.recommend.interactions import SIGNALS
from tests.recommend.test_contract import RecommenderContract


def three_items(weights: list[float] | None = None) -> Interactions:
    # u1: i0 i1; u2: i0 i1 i2; u3: i1 i2.
    return Interactions.from_arrays(["u1", "u1", "u2", "u2", "u2", "u3", "u3"],
                                    ["i0", "i1", "i0", "i1", "i2", "i1", "i2"], weights)


def closed_form(x: np.ndarray, l2: float) -> np.ndarray:
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p @ np.diag(1.0 / np.diag(p))


class TestEASE(RecommenderContract):
    def make(self) -> Recommender:
        return EASE()

    def test_weights_match_the_closed_form_worked_by_hand(self) -> None:
        # XᵀX + I = [[3,2,1],[2,4,2],[1,2,3]], whose inverse is
        # [[8,-4,0],[-4,8,-4],[0,-4,8]] / 16; B_ij = -P_ij / P_jj.
        model = EASE(l2=1.0).fit(three_items())
        by_hand = np.array([[0.0, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.0]])
        np.testing.assert_allclose(model.weights_, by_hand, atol=1e-6)

    def test_weights_match_the_formula_with_numpy(self) -> None:
        d = three_items()
        model = EASE(l2=0.7).fit(d)
        x = (d.matrix.toarray() > 0).astype(float)
        np.testing.assert_allclose(model.weights_, closed_form(x, 0.7), atol=1e-6)
        assert np.all(np.diag(model.weights_) == 0.0)

    def test_binary_false_learns_from_the_weights(self) -> None:
        d = three_items([5, 1, 2, 4, 1, 3, 5])
        weighted = EASE(l2=2.0, binary=False).fit(d)
        np.testing.assert_allclose(weighted.weights_, closed_form(d.matrix.toarray(), 2.0),
                                   atol=1e-5)
        assert not np.allclose(weighted.weights_, EASE(l2=2.0).fit(d).weights_)

    def test_a_new_persons_events_fold_in_as_row_times_b(self) -> None:
        model = EASE(l2=1.0).fit(three_items())
        model.update("newcomer", ["i0"])
        recs = model.recommend("newcomer", k=1)
        assert recs[0].item_id == "i1" and recs[0].score == pytest.approx(0.5)
        assert recs[0].reason == "because you liked i0"

    def test_reason_names_the_item_that_contributes_most(self) -> None:
        # For u3 (i1, i2), i0's score comes from i1 only (B[i2, i0] = 0).
        recs = EASE(l2=1.0).fit(three_items()).recommend("u3", k=1)
        assert recs[0].item_id == "i0" and recs[0].reason == "because you liked i1"

    def test_reason_uses_the_strongest_signal_and_the_title(self) -> None:
        order, view = SIGNALS.index("order") + 1, SIGNALS.index("view") + 1
        d = Interactions.from_arrays(["u1", "u1", "u2", "u2", "u2", "u3", "u3"],
                                     ["i0", "i1", "i0", "i1", "i2", "i1", "i2"],
                                     signals=[view, view, view, view, view, order, view])
        view_of = CatalogView.empty(3)
        view_of.titles[:] = ["Spade", "Rake", "Hoe"]
        recs = EASE(l2=1.0).fit(d, view_of).recommend("u3", k=1)
        assert recs[0].reason == 'because you bought "Rake"'

    def test_a_catalogue_over_max_items_is_refused_with_advice(self) -> None:
        with pytest.raises(InvalidInput, match="item-knn") as error:
            EASE(max_items=2).fit(three_items())
        assert error.value.field == "max_items"

    @pytest.mark.parametrize("l2", [0.0, -1.0])
    def test_l2_must_be_positive(self, l2: float) -> None:
        with pytest.raises(InvalidInput, match="l2"):
            EASE(l2=l2).fit(three_items())

    def test_weights_match_the_formula_on_a_catalogue_of_more_than_a_thousand_items(
            self) -> None:
        rng = np.random.default_rng(7)
        users, items = rng.integers(0, 300, 6000), rng.integers(0, 1100, 6000)
        d = Interactions.from_arrays([f"u{u}" for u in users], [f"i{i:04d}" for i in items])
        x = (d.matrix.toarray() > 0).astype(float)
        np.testing.assert_allclose(EASE(l2=5.0).fit(d).weights_, closed_form(x, 5.0),
                                   atol=1e-6)
