"""Ranking, rating and beyond-accuracy metrics against examples worked by hand."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import math

import numpy as np
import pytest
import scipy.sparse as sp

from tailored.evaluate import (
    catalog_coverage,
    evaluate_ranking,
    f1_at_k,
    hit_rate_at_k,
    intra_list_diversity,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)

# Three users are scored: ann and bob have lists, dan has none (counts as zero); eve has no
# relevant item and is left out; zed is only in `recommended` and is ignored by accuracy.
RECOMMENDED = {
    "ann": ["a", "b", "c", "d", "e"],
    "bob": ["x", "a", "y"],
    "zed": ["q", "r"],
}
RELEVANT = {"ann": {"a", "c", "f"}, "bob": {"a"}, "dan": {"q"}, "eve": set()}
LOG2_3 = math.log2(3)


def test_precision_divides_hits_by_k() -> None:
    # k=3. ann: a, b, c -> hits a, c -> 2/3. bob: x, a, y -> hit a -> 1/3. dan: 0.
    # (2/3 + 1/3 + 0) / 3 = 1/3
    assert precision_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(1 / 3)


def test_recall_divides_hits_by_relevant() -> None:
    # ann: 2 of {a, c, f} = 2/3. bob: 1 of {a} = 1. dan: 0. (2/3 + 1 + 0) / 3 = 5/9
    assert recall_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(5 / 9)


def test_f1_is_the_harmonic_mean_of_averaged_precision_and_recall() -> None:
    # P = 1/3, R = 5/9: 2 · (1/3)(5/9) / (1/3 + 5/9) = (10/27) / (8/9) = 5/12
    assert f1_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(5 / 12)


def test_ndcg_with_binary_relevance() -> None:
    # ann: DCG = 1/log2(2) + 1/log2(4) = 1.5 (hits at ranks 1 and 3);
    #      IDCG = 1 + 1/log2(3) + 1/2 (min(k=3, |R|=3) = 3 ideal hits) -> 1.5 / 2.1309
    # bob: DCG = 1/log2(3) (rank 2); IDCG = 1 (one relevant item) -> 0.6309
    # dan: 0.  Mean of the three.
    ann = 1.5 / (1 + 1 / LOG2_3 + 0.5)
    bob = 1 / LOG2_3
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx((ann + bob) / 3)


def test_map_normalises_by_min_of_k_and_relevant() -> None:
    # ann: precision at hits 1 and 3 = 1/1 and 2/3; sum 5/3; / min(3, 3) = 5/9
    # bob: precision at hit 2 = 1/2; / min(3, 1) = 1/2.  dan: 0.
    # (5/9 + 1/2 + 0) / 3 = 19/54
    assert map_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(19 / 54)


def test_map_of_a_perfect_list_is_one_even_with_more_relevant_than_k() -> None:
    # 5 relevant, k = 3, all three ranks hit: (1 + 1 + 1) / min(3, 5) = 1.
    # (Microsoft Recommenders' older `map`, dividing by |R| = 5, would say 3/5.)
    relevant = {"u": {"a", "b", "c", "d", "e"}}
    assert map_at_k({"u": ["a", "b", "c"]}, relevant, 3) == 1.0


def test_mrr_and_hit_rate() -> None:
    # Reciprocal rank of the first hit: ann 1/1, bob 1/2, dan 0 -> 1.5 / 3 = 0.5
    assert mrr_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(0.5)
    # ann and bob hit, dan does not: 2/3
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(2 / 3)
    # At k=1 bob's hit (rank 2) no longer counts: MRR (1 + 0 + 0) / 3, hit rate 1/3
    assert mrr_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx(1 / 3)
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx(1 / 3)


def test_k_larger_than_the_list_still_divides_precision_by_k() -> None:
    # bob alone, k = 10: 1 hit / 10; recall 1/1; AP (1/2) / min(10, 1); NDCG 1/log2(3)
    recommended, relevant = {"bob": RECOMMENDED["bob"]}, {"bob": {"a"}}
    assert precision_at_k(recommended, relevant, 10) == pytest.approx(0.1)
    assert recall_at_k(recommended, relevant, 10) == 1.0
    assert map_at_k(recommended, relevant, 10) == pytest.approx(0.5)
    assert ndcg_at_k(recommended, relevant, 10) == pytest.approx(1 / LOG2_3)


def test_a_user_without_recommendations_counts_as_zero() -> None:
    # Only "ann" is recommended to, perfectly; "bob" has no list: every mean halves.
    relevant = {"ann": {"a"}, "bob": {"b"}}
    for metric in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k, mrr_at_k, hit_rate_at_k):
        assert metric({"ann": ["a"]}, relevant, 1) == pytest.approx(0.5), metric.__name__
    # An empty list is the same as no list.
    assert recall_at_k({"ann": ["a"], "bob": []}, relevant, 1) == pytest.approx(0.5)


def test_users_with_no_relevant_item_are_left_out() -> None:
    # eve's empty set and zed's unasked-for list change nothing.
    with_extra = {**RELEVANT, "eve": set()}
    assert precision_at_k(RECOMMENDED, with_extra, 3) == precision_at_k(
        RECOMMENDED, {u: r for u, r in RELEVANT.items() if r}, 3)


def test_no_user_with_a_relevant_item_is_refused() -> None:
    with pytest.raises(ValueError, match="no user has a relevant item"):
        precision_at_k({"ann": ["a"]}, {"ann": set()}, 3)
    with pytest.raises(ValueError, match="no user has a relevant item"):
        ndcg_at_k({}, {}, 3)


def test_a_repeated_item_hits_once_and_wastes_its_rank() -> None:
    # a, a, b against {a, b}: hits at ranks 1 and 3 (the second "a" is a miss).
    recommended, relevant = {"u": ["a", "a", "b"]}, {"u": {"a", "b"}}
    assert precision_at_k(recommended, relevant, 3) == pytest.approx(2 / 3)
    assert recall_at_k(recommended, relevant, 3) == 1.0
    # AP = (1/1 + 2/3) / min(3, 2) = 5/6
    assert map_at_k(recommended, relevant, 3) == pytest.approx(5 / 6)
    # DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3)
    assert ndcg_at_k(recommended, relevant, 3) == pytest.approx(1.5 / (1 + 1 / LOG2_3))


@pytest.mark.parametrize("k", [0, -1, 2.0, True, None, "3"])
def test_k_must_be_a_positive_integer(k: object) -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        precision_at_k(RECOMMENDED, RELEVANT, k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        evaluate_ranking(RECOMMENDED, RELEVANT, k, catalog_size=10)  # type: ignore[arg-type]


def test_relevant_may_be_any_collection_and_lists_any_sequence() -> None:
    recommended = {1: np.array([10, 11, 12]), 2: (20, 21)}
    relevant = {1: [12, 13], 2: np.array([21])}
    # user 1: hit at 3 of 3 -> 1/3; user 2: hit at 2 -> 1/3 (divided by k = 3)
    assert precision_at_k(recommended, relevant, 3) == pytest.approx(1 / 3)


def test_evaluate_ranking_keys_and_values() -> None:
    metrics = evaluate_ranking(RECOMMENDED, RELEVANT, 3, catalog_size=10)
    assert list(metrics) == ["precision@3", "recall@3", "f1@3", "ndcg@3", "map@3", "mrr@3",
                             "hit_rate@3", "coverage@3"]
    assert metrics["precision@3"] == pytest.approx(1 / 3)
    assert metrics["f1@3"] == pytest.approx(5 / 12)
    assert metrics["map@3"] == pytest.approx(19 / 54)
    assert metrics["ndcg@3"] == pytest.approx(ndcg_at_k(RECOMMENDED, RELEVANT, 3))
    # Every user's top 3 (zed's too): a, b, c, x, y, q, r = 7 of 10 items
    assert metrics["coverage@3"] == pytest.approx(0.7)
    assert all(isinstance(value, float) for value in metrics.values())


def test_evaluate_ranking_adds_novelty_given_training_counts() -> None:
    counts = {"a": 4, "b": 2, "c": 1, "x": 1}
    metrics = evaluate_ranking(RECOMMENDED, RELEVANT, 3, catalog_size=10, train_counts=counts)
    assert list(metrics)[-1] == "novelty@3"
    assert metrics["novelty@3"] == novelty(RECOMMENDED, 3, train_counts=counts)


def test_catalog_coverage_counts_distinct_items() -> None:
    # Top 2: ann a, b; bob x, a; zed q, r -> {a, b, x, q, r} = 5 of 20
    assert catalog_coverage(RECOMMENDED, 2, catalog_size=20) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="catalog_size"):
        catalog_coverage(RECOMMENDED, 2, catalog_size=0)


def test_novelty_is_mean_self_information_over_all_recommendations() -> None:
    # 8 training interactions: a 4 -> -log2(4/8) = 1; b 2 -> 2; c 1 -> 3; x 1 -> 3.
    # Top 3 of ann (a, b, c) and bob (x, a, y), zed (q, r): y, q, r were never seen in
    # training and add 0, yet count, as in Microsoft Recommenders.
    # (1 + 2 + 3 + 3 + 1 + 0 + 0 + 0) / 8 = 10/8
    counts = {"a": 4, "b": 2, "c": 1, "x": 1}
    assert novelty(RECOMMENDED, 3, train_counts=counts) == pytest.approx(10 / 8)
    # The same from an array of counts indexed by item number: items 0..3 = a, b, c, x
    top = np.array([[0, 1, 2], [3, 0, -1]])
    # (1 + 2 + 3 + 3 + 1) / 5 = 2
    assert novelty(top, 3, train_counts=np.array([4, 2, 1, 1])) == pytest.approx(2.0)


def test_intra_list_diversity_from_features() -> None:
    # Items 0 and 1 point the same way (cosine 1), item 2 is orthogonal (cosine 0),
    # item 3 is a zero vector (similar to nothing).
    features = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 0.0]])
    # u: pairs (0,1) 1, (0,2) 0, (1,2) 0 -> 1 - 1/3 = 2/3
    # v: pairs (0,1) 1 -> 0.  w: (0,3) 0 -> 1.  solo: one item, no pair, left out.
    lists = {"u": [0, 1, 2], "v": [1, 0], "w": [0, 3], "solo": [2]}
    expected = (2 / 3 + 0 + 1) / 3
    assert intra_list_diversity(lists, 3, item_features=features) == pytest.approx(expected)
    assert intra_list_diversity(lists, 3, item_features=sp.csr_array(features)) == \
        pytest.approx(expected)


def test_intra_list_diversity_from_a_similarity_matrix_and_ids() -> None:
    similarity = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.0]])
    index = {"a": 0, "b": 1, "c": 2}
    # one list a, b, c: mean of 0.5, 0.1, 0.2 = 0.8/3 -> 1 - 0.8/3
    lists = {"u": ["a", "b", "c"]}
    for matrix in (similarity, sp.csr_array(similarity)):
        value = intra_list_diversity(lists, 3, item_similarity=matrix, item_index=index)
        assert value == pytest.approx(1 - 0.8 / 3)
    # k = 2 keeps a, b only: 1 - 0.5
    assert intra_list_diversity(lists, 2, item_similarity=similarity, item_index=index) == \
        pytest.approx(0.5)


def test_intra_list_diversity_refuses_bad_input() -> None:
    features = np.eye(2)
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity({"u": [0, 1]}, 2)
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity({"u": [0, 1]}, 2, item_features=features, item_similarity=features)
    with pytest.raises(ValueError, match="no row in item_index"):
        intra_list_diversity({"u": ["a", "z"]}, 2, item_features=features,
                             item_index={"a": 0})
    with pytest.raises(ValueError, match="outside"):
        intra_list_diversity({"u": [0, 5]}, 2, item_features=features)
    with pytest.raises(ValueError, match="two or more"):
        intra_list_diversity({"u": [0]}, 2, item_features=features)


def test_rmse_and_mae() -> None:
    # errors 1, 0, -2: RMSE sqrt((1 + 0 + 4) / 3); MAE (1 + 0 + 2) / 3 = 1
    assert rmse([4, 3, 1], [3, 3, 3]) == pytest.approx(math.sqrt(5 / 3))
    assert mae([4, 3, 1], [3, 3, 3]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="alike"):
        rmse([1, 2], [1])
    with pytest.raises(ValueError, match="no ratings"):
        mae([], [])


def _as_arrays(recommended: dict, relevant: dict, n_items: int) -> tuple:
    users = sorted(relevant)
    length = max(len(recommended.get(u, [])) for u in users)
    top = np.full((len(users), length), -1)
    for row, user in enumerate(users):
        items = recommended.get(user, [])
        top[row, :len(items)] = items
    matrix = sp.lil_array((len(users), n_items))
    for row, user in enumerate(users):
        for item in relevant[user]:
            matrix[row, item] = 1
    return top, matrix.tocsr()


def test_array_form_gives_the_same_numbers_as_mappings() -> None:
    rng = np.random.default_rng(7)
    n_items = 30
    recommended, relevant = {}, {}
    for user in range(40):
        length = int(rng.integers(0, 12))
        # With replacement: lists hold repeats, which must be handled alike.
        recommended[user] = rng.integers(0, n_items, length).tolist()
        relevant[user] = set(rng.choice(n_items, int(rng.integers(0, 6)), replace=False).tolist())
    top, matrix = _as_arrays(recommended, relevant, n_items)
    users = sorted(relevant)
    lists = {u: recommended[u] for u in users}
    counts = rng.integers(0, 5, n_items)
    for k in (1, 5, 20):
        by_map = evaluate_ranking(lists, relevant, k, catalog_size=n_items,
                                  train_counts=dict(enumerate(counts.tolist())))
        by_array = evaluate_ranking(top, matrix, k, catalog_size=n_items, train_counts=counts)
        assert by_array == pytest.approx(by_map)


def test_array_form_refuses_misaligned_rows() -> None:
    with pytest.raises(ValueError, match="rows"):
        precision_at_k(np.zeros((2, 3), dtype=int), sp.csr_array(np.eye(3)), 3)


@pytest.mark.parametrize("module", ["metrics", "beyond_accuracy", "rating_errors"])
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"tailored.evaluate.{module}"))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.skipif(importlib.util.find_spec("recommenders") is None,
                    reason="Microsoft Recommenders is not installed (it is not a dependency)")
def test_same_numbers_as_microsoft_recommenders() -> None:
    import pandas as pd
    from recommenders.evaluation import python_evaluation as ms

    # Every user has a list here: Microsoft Recommenders' precision, recall and MAP skip
    # users without one, where we count them as zero.
    recommended = {u: RECOMMENDED[u] for u in ("ann", "bob")}
    relevant = {u: RELEVANT[u] for u in ("ann", "bob")}
    truth = pd.DataFrame([(u, i, 1.0) for u, items in relevant.items() for i in items],
                         columns=["userID", "itemID", "rating"])
    predicted = pd.DataFrame([(u, i, 10.0 - r) for u, items in recommended.items()
                              for r, i in enumerate(items)],
                             columns=["userID", "itemID", "prediction"])
    for ours, theirs in [(precision_at_k, ms.precision_at_k), (recall_at_k, ms.recall_at_k),
                         (ndcg_at_k, ms.ndcg_at_k), (map_at_k, ms.map_at_k)]:
        for k in (1, 3, 10):
            assert ours(recommended, relevant, k) == pytest.approx(theirs(truth, predicted, k=k))
