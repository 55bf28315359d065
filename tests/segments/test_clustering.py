"""Clustering: scikit-learn's estimator checks, k chosen by silhouette, portraits that say what
sets a cluster apart, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from tailored.analytics import opened
from tailored.errors import InvalidInput
from tailored.segments.clustering import BehaviourKMeans, block_weights, cluster_customers
from tailored.segments.portraits import describe_clusters, describe_feature
from tests.analytics.test_features import build_snapshot, order, track


@parametrize_with_checks([BehaviourKMeans(max_clusters=4, n_init=3),
                          BehaviourKMeans(n_clusters=3, compress=False)])
def test_sklearn_compatible(estimator: BehaviourKMeans, check: object) -> None:
    check(estimator)  # type: ignore[operator]


@pytest.mark.parametrize("centers", [3, 5])
def test_k_is_chosen_by_silhouette(centers: int) -> None:
    X, y = make_blobs(n_samples=300, centers=centers, cluster_std=0.4, random_state=3)
    model = BehaviourKMeans(max_clusters=8, compress=False).fit(X)
    assert model.n_clusters_ == centers
    assert max(model.silhouette_scores_, key=model.silhouette_scores_.__getitem__) == centers
    assert adjusted_rand_score(y, model.labels_) > 0.95
    assert np.array_equal(model.predict(X), model.labels_)
    sizes = np.bincount(model.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)  # cluster 0 is the largest


def test_candidates_fit_on_a_sample_of_large_sets() -> None:
    X, _ = make_blobs(n_samples=2000, centers=4, cluster_std=0.5, random_state=1)
    model = BehaviourKMeans(max_clusters=6, sample_size=300, compress=False).fit(X)
    assert model.n_clusters_ == 4
    assert model.labels_.shape == (2000,)


def test_portrait_names_the_feature_that_sets_a_cluster_apart() -> None:
    frame = pd.DataFrame({"revenue": [10.0] * 8 + [100.0] * 2, "orders": [1.0] * 10,
                          "tenure_days": [30.0] * 10, "share_books": [0.1] * 8 + [0.9] * 2})
    labels = np.array([0] * 8 + [1] * 2)
    big, small = describe_clusters(frame, labels)
    assert (big["size"], small["size"]) == (8, 2)
    assert small["distinct"][0]["feature"] in {"revenue", "share_books"}
    revenue = next(t for t in small["distinct"] if t["feature"] == "revenue")
    assert revenue["ratio"] == pytest.approx(100 / 28, abs=1e-3)
    assert "spends 3.6× the average (100 vs 28)" in small["summary"]
    assert "90% of their interest in Books (average 26%)" in small["summary"]
    # One purchase each has no rhythm: no "once every 30 days".
    assert "100% have bought, each once" in small["summary"]
    assert "once every" not in small["summary"]
    assert describe_feature("recency_days", 3, 20).startswith("last seen 3 days ago")


def test_portraits_never_say_zero_times_the_average() -> None:
    assert describe_feature("revenue", 0.0, 129.0) == "spends nothing (average 129)"
    assert describe_feature("revenue", 2.0, 129.0) == "spends 2% of the average (2 vs 129)"
    assert describe_feature("revenue", 0.1, 129.0) == (
        "spends under 1% of the average (0 vs 129)")
    assert describe_feature("orders", 0.0, 1.5) == "no orders (average 1.5)"
    assert describe_feature("orders", 1.5, 1.5) == (
        "1.5 orders each, about the average (1.5)")
    assert describe_feature("views", 1.0, 0.0) == (
        "1.0 product views each, where the average is 0 (0.0)")
    for mean in (0.0, 0.01, 0.04, 0.3):
        assert "0.0×" not in describe_feature("carts", mean, 10.0)


def test_cadence_counts_only_repeat_buyers() -> None:
    frame = pd.DataFrame({"orders": [1.0, 1.0, 4.0, 2.0, 0.0],
                          "tenure_days": [25.0, 25.0, 90.0, 30.0, 5.0]})
    [portrait] = describe_clusters(frame, np.zeros(5, dtype=int))
    assert portrait["summary"].endswith(
        "80% have bought, 40% more than once (about one order every 20 days)")


def _people(n: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for i in range(n):
        user = f"p{i}"
        sku = "sku2" if i % 2 else "sku3"  # books or outdoor: two tastes
        for j in range(3 + (i % 2) * 5):
            # A little spread in time, so no two people are the same point.
            events.append(track(user, "Product Viewed", 1 + j + i * 0.05, j + 1,
                                product_id=sku))
        if i % 2:
            events.append(order(user, 20, 99, [(sku, 1, 15.0)]))
    return events


def test_cluster_customers_of_a_snapshot(tmp_path: Path) -> None:
    folder = build_snapshot(tmp_path, "snap", _people(12))
    with opened(folder) as source:
        result = cluster_customers(source, max_clusters=4)
        users = source.profiles.select("profile_id", "user_id").execute()
    summary = result.summary()
    assert summary["customers"] == 12 and summary["k"] == 2
    by_user = result.labels.rename_axis("profile_id").reset_index().merge(users)
    odd = by_user[by_user.user_id.str[1:].astype(int) % 2 == 1]
    assert odd.cluster.nunique() == 1 and len(odd) == 6  # the two tastes split cleanly
    assert {"share_books", "share_outdoor", "revenue"} <= set(summary["features"])
    assert len(summary["clusters"]) == 2
    assert sum(len(m) for m in result.members().values()) == 12


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"n_clusters": 12}, "k"), ({"n_clusters": 1}, "k"), ({"max_clusters": 1}, "max_k"),
    ({"features": "mood"}, "features")])
def test_bad_cluster_settings_are_refused(tmp_path: Path, kwargs: dict[str, object],
                                          field: str) -> None:
    folder = build_snapshot(tmp_path, "snap", _people(12))
    with opened(folder) as source, pytest.raises(InvalidInput) as err:
        cluster_customers(source, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_too_few_customers_to_cluster(tmp_path: Path) -> None:
    folder = build_snapshot(tmp_path, "snap", _people(2))
    with opened(folder) as source, pytest.raises(InvalidInput, match="too few customers"):
        cluster_customers(source)


def test_feature_weights_decide_what_the_clusters_follow() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat([0, 1], 50)
    # Column 0 holds two clear groups; columns 1-3 are noise with their own structure.
    noise = np.repeat([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], 50, axis=0)[rng.permutation(100)]
    X = np.c_[groups * 3.0 + rng.normal(0, 0.1, 100), noise + rng.normal(0, 0.1, (100, 3))]
    plain = BehaviourKMeans(n_clusters=2, compress=False).fit(X)
    weighted = BehaviourKMeans(n_clusters=2, compress=False,
                               feature_weights=[1.0, 0.0, 0.0, 0.0]).fit(X)
    assert adjusted_rand_score(groups, weighted.labels_) == 1.0
    assert adjusted_rand_score(groups, plain.labels_) < 0.1
    with pytest.raises(InvalidInput, match="4 finite weights") as err:
        BehaviourKMeans(feature_weights=[1.0, -1.0, 1.0, 1.0]).fit(X)
    assert err.value.field == "feature_weights"


def test_block_weights_give_each_group_of_features_equal_weight() -> None:
    columns = ["orders", "revenue", "views", "events", "share_books", "price_index"]
    weights = dict(zip(columns, block_weights(columns), strict=True))
    assert weights["orders"] == pytest.approx(0.5)  # four behavioural columns
    assert weights["share_books"] == weights["price_index"] == 1.0
