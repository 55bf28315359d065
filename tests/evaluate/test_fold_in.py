"""Strong generalisation's scoring: held-out users fold in part of their history."""

from __future__ import annotations

import numpy as np
import pyarrow.csv as pa_csv
import pytest

from tailored.errors import InvalidInput
from tailored.evaluate import InteractionTable, strong_generalization_split
from tailored.evaluate.fold_in import evaluate_fold_in
from tests.conftest import dataset


def _table(rows: list[tuple[str, str]]) -> InteractionTable:
    return InteractionTable(np.array([u for u, _ in rows]), np.array([i for _, i in rows]))


TRAIN = _table([("u1", "x"), ("u1", "y"), ("u2", "x"), ("u2", "y"), ("u3", "z")])


def test_recall_is_the_papers_and_fold_in_items_are_not_ranked() -> None:
    # popular: x and y (2 people) before z (1). h folds in x, so x is never ranked.
    fold_in = _table([("h", "x"), ("g", "x")])
    holdout = _table([("h", "y"), ("g", "y"), ("g", "z")])
    r = evaluate_fold_in("popular", TRAIN, fold_in, holdout, ks=(1, 2))
    m = r["metrics"]
    assert r["users"] == 2
    # k=1: both get y first. h: 1 hit of min(1, 1); g: 1 hit of min(1, 2) → paper recall 1.
    assert m["recall@1"] == pytest.approx(1.0)
    assert m["recall_full@1"] == pytest.approx((1.0 + 0.5) / 2)
    # k=2: y then z; g has both, h has y. NDCG: g perfect; h perfect (its one hit first).
    assert m["recall@2"] == pytest.approx(1.0) and m["ndcg@2"] == pytest.approx(1.0)


def test_held_out_users_must_be_new_and_their_items_known() -> None:
    with pytest.raises(InvalidInput) as e:
        evaluate_fold_in("popular", TRAIN, _table([("u1", "x")]), _table([("u1", "y")]))
    assert e.value.field == "user_id"
    with pytest.raises(InvalidInput) as e:
        evaluate_fold_in("popular", TRAIN, _table([("h", "x")]), _table([("h", "w")]))
    assert e.value.field == "item_id"
    with pytest.raises(InvalidInput) as e:
        evaluate_fold_in("popular", TRAIN, _table([("h", "x")]), _table([("h", "y")]), ks=(0,))
    assert e.value.field == "k"


@pytest.mark.dataset
def test_strong_generalisation_end_to_end_on_latest_small() -> None:
    """The reference split, the model fitted on training users only, and each test user
    folded in: EASE far ahead of popularity, as in the paper's tables."""
    ratings = pa_csv.read_csv(dataset("ml-latest-small", "ratings.csv.gz"))
    table = InteractionTable(*(ratings.column(c).to_numpy() for c in
                               ("userId", "movieId", "timestamp", "rating")))
    split = strong_generalization_split(table, n_heldout=50)
    args = (split.train, split.test_fold_in, split.test_holdout)
    popular = evaluate_fold_in("popular", *args)
    knn = evaluate_fold_in("item-knn", *args)
    assert popular["users"] == knn["users"] == 49  # the reference split's 49 scored users
    assert knn["metrics"]["ndcg@100"] > popular["metrics"]["ndcg@100"] > 0.05
    assert 0 < knn["metrics"]["recall@20"] <= 1
