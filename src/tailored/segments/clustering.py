"""K-means on standardised customer features, with k chosen by silhouette.

:class:`BehaviourKMeans` is a scikit-learn clusterer: counts and money are heavy-tailed (a few
customers order a hundred times), so each feature is first compressed with a signed
``log1p`` and then standardised, else one whale would be a cluster of its own. Without
``n_clusters`` it tries every k in ``[min_clusters, max_clusters]`` and keeps the one with
the best silhouette; on large sets the candidates are fitted and scored on a random sample
(``sample_size`` rows), then the chosen k is fitted on everyone.

:func:`cluster_customers` runs it over a snapshot's customer features (and, for taste, the
share of each person's interest per top-level category), and describes every cluster
(:mod:`tailored.segments.portraits`).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from tailored.analytics.customers import Customers, keep_customers_frame
from tailored.analytics.features import category_shares, customer_features, price_profile
from tailored.errors import InvalidInput
from tailored.segments.portraits import describe_clusters

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from tailored.analytics.source import Source

__all__ = ["BEHAVIOUR_FEATURES", "FEATURE_SETS", "BehaviourKMeans", "ClusterResult",
           "block_weights", "cluster_customers", "clustering_frame"]

#: Behavioural columns of :func:`~tailored.analytics.features.customer_features` used.
BEHAVIOUR_FEATURES = ("recency_days", "order_recency_days", "tenure_days", "orders", "revenue",
                      "avg_order_value", "events", "views", "carts", "distinct_items",
                      "active_days")
FEATURE_SETS = ("behaviour", "taste", "all")
_MIN_SAMPLES = 3  # silhouette needs 2 ≤ k ≤ n - 1
_THREADED_ABOVE = 50_000


class BehaviourKMeans(ClusterMixin, BaseEstimator):
    """K-means on compressed, standardised features; k by silhouette when not given.

    Parameters
    ----------
    n_clusters : int or None, default=None
        The number of clusters; ``None`` chooses it by silhouette.
    min_clusters, max_clusters : int, default=2, 8
        The range of k tried when ``n_clusters`` is None (capped at ``n_samples - 1``).
    sample_size : int, default=5000
        Rows the candidate fits and silhouettes use on larger sets.
    compress : bool, default=True
        Apply ``sign(x) · log1p(|x|)`` before standardising.
    n_init : int, default=10
        K-means restarts per k.
    random_state : int, RandomState or None, default=0
    feature_weights : array-like of shape (n_features,) or None, default=None
        Multiplies each standardised feature, so a group of features can count as much as
        another whatever its number of columns (``None``: all 1).

    Attributes
    ----------
    n_clusters_ : int
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row, 0 the largest cluster.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Centres in the standardised space, in label order.
    silhouette_scores_ : dict of int to float
        Silhouette of each k tried (only the given k when ``n_clusters`` is set).
    scaler_ : StandardScaler

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((5, 2)), np.full((5, 2), 10.0)] + np.arange(10)[:, None] * 0.01
    >>> model = BehaviourKMeans(max_clusters=4).fit(X)
    >>> model.n_clusters_
    2
    """

    def __init__(self, *, n_clusters: int | None = None, min_clusters: int = 2,
                 max_clusters: int = 8, sample_size: int = 5000, compress: bool = True,
                 n_init: int = 10, random_state: Any = 0,
                 feature_weights: ArrayLike | None = None) -> None:
        self.n_clusters = n_clusters
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.sample_size = sample_size
        self.compress = compress
        self.n_init = n_init
        self.random_state = random_state
        self.feature_weights = feature_weights

    def _weights(self, n_features: int) -> NDArray[np.float64]:
        if self.feature_weights is None:
            return np.ones(n_features)
        weights = np.asarray(self.feature_weights, dtype=np.float64)
        if weights.shape != (n_features,) or not np.isfinite(weights).all() or (
                weights < 0).any():
            raise InvalidInput(f"feature_weights must be {n_features} finite weights of 0 or "
                               f"more, one per feature, got shape {weights.shape}",
                               field="feature_weights")
        return weights

    def _prepare(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.sign(X) * np.log1p(np.abs(X)) if self.compress else X

    def _candidates(self, n: int) -> list[int]:
        if self.n_clusters is not None:
            k = int(self.n_clusters)
            if not 1 <= k <= n:
                raise InvalidInput(f"k must be between 1 and the {n} customers, got {k}",
                                   field="k")
            return [k]
        low, high = int(self.min_clusters), min(int(self.max_clusters), n - 1)
        if low < 2 or high < low:
            raise InvalidInput(f"the range of k must start at 2 or more and end at or above "
                               f"its start (and below the {n} customers), got "
                               f"{self.min_clusters}..{self.max_clusters}", field="max_k")
        return list(range(low, high + 1))

    def fit(self, X: ArrayLike, y: Any = None) -> BehaviourKMeans:
        """Choose k (unless given) and fit K-means; returns ``self``."""
        data: NDArray[np.float64] = validate_data(self, X, dtype=np.float64)
        n = data.shape[0]
        if n < _MIN_SAMPLES and self.n_clusters is None:
            raise InvalidInput(f"too few customers to cluster: {n} sample(s) given, at least "
                               f"{_MIN_SAMPLES} needed", field="customers")
        candidates = self._candidates(n)
        # Up to tens of thousands of rows OpenMP threads cost more than they give, and on a
        # busy machine far more (524 customers: 35 s threaded at load 12, 0.4 s on one).
        with threadpool_limits(limits=1) if n <= _THREADED_ABOVE else nullcontext():
            self._fit(data, candidates)
        return self

    def _fit(self, data: NDArray[np.float64], candidates: list[int]) -> None:
        n = data.shape[0]
        self.scaler_ = StandardScaler().fit(self._prepare(data))
        self.weights_ = self._weights(data.shape[1])
        Z = self.scaler_.transform(self._prepare(data)) * self.weights_
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self.silhouette_scores_: dict[int, float] = {}
        if len(candidates) > 1:
            sample = Z
            if n > self.sample_size:
                sample = Z[rng.choice(n, size=int(self.sample_size), replace=False)]
            for k in candidates:
                if k >= sample.shape[0]:
                    break
                labels = KMeans(n_clusters=k, n_init=self.n_init, random_state=seed
                                ).fit_predict(sample)
                # Identical rows can leave fewer distinct labels than k: no silhouette then.
                score = (float(silhouette_score(sample, labels)) if 1 < len(set(labels))
                         < sample.shape[0] else -1.0)
                self.silhouette_scores_[k] = round(score, 6)
            best = max(self.silhouette_scores_, default=candidates[0],
                       key=lambda k: (self.silhouette_scores_[k], -k))
        else:
            best = candidates[0]
        model = KMeans(n_clusters=best, n_init=self.n_init, random_state=seed).fit(Z)
        raw = model.labels_
        sizes = np.bincount(raw, minlength=best)
        # Label 0 is the largest cluster; a cluster K-means left empty is dropped.
        order = [c for c in np.argsort(-sizes, kind="stable") if sizes[c] > 0]
        self._relabel = np.full(best, -1, dtype=np.int64)
        self._relabel[order] = np.arange(len(order))
        self.kmeans_ = model
        self.n_clusters_ = len(order)
        self.cluster_centers_ = model.cluster_centers_[order]
        self.labels_ = self._relabel[raw]
        if len(candidates) == 1 and 1 < self.n_clusters_ < n:
            self.silhouette_scores_[best] = round(float(silhouette_score(
                Z, self.labels_, sample_size=min(n, int(self.sample_size)),
                random_state=seed)), 6)

    def predict(self, X: ArrayLike) -> NDArray[np.int64]:
        """The nearest cluster of each row."""
        check_is_fitted(self)
        data: NDArray[np.float64] = validate_data(self, X, dtype=np.float64, reset=False)
        Z = self.scaler_.transform(self._prepare(data)) * self.weights_
        with threadpool_limits(limits=1) if len(Z) <= _THREADED_ABOVE else nullcontext():
            labels = self._relabel[self.kmeans_.predict(Z)]
        if (labels < 0).any():  # nearest centre was one K-means left empty: next nearest
            dist = ((Z[:, None, :] - self.cluster_centers_[None]) ** 2).sum(axis=2)
            labels = dist.argmin(axis=1)
        return labels


def clustering_frame(source: Source, *, as_of: datetime | None = None,
                     features: str = "all", include_anonymous: bool = False
                     ) -> tuple[pd.DataFrame, Customers]:
    """Customer features for clustering, indexed by profile_id: "behaviour" (activity,
    orders, spend, recency), "taste" (the share of interest per top-level category) or
    "all" (both, plus how focused the interest is, the price index and the share of sale
    items); and how many profiles the customer rule left out. Customers are identified
    profiles (everyone with ``include_anonymous``) with any interaction or order."""
    if features not in FEATURE_SETS:
        raise InvalidInput(f"features must be one of {', '.join(FEATURE_SETS)}, got "
                           f"{features!r}", field="features")
    base, customers = keep_customers_frame(
        source, customer_features(source, as_of=as_of).execute().set_index("profile_id"),
        include_anonymous=include_anonymous)
    frame = base[list(BEHAVIOUR_FEATURES)].astype("float64")
    # Someone who never ordered has gone at least their whole tenure without an order.
    frame["order_recency_days"] = frame["order_recency_days"].fillna(frame["tenure_days"])
    if features == "behaviour":
        return frame.sort_index(), customers
    shares = category_shares(source, as_of=as_of).execute().set_index("profile_id")
    prices = price_profile(source, as_of=as_of).execute().set_index("profile_id")
    frame = frame.join(shares, how="left").join(prices, how="left")
    # How concentrated a person's interest is (Herfindahl index of the shares: 1 = one
    # category only): broad browsers, such as bargain hunters, stand out by it.
    frame["category_focus"] = (frame[list(shares.columns)].fillna(0.0) ** 2).sum(axis=1)
    # Without priced interactions a person is typical (index 1), not free (0).
    frame["price_index"] = frame["price_index"].fillna(1.0)
    frame = frame.fillna(0.0)
    if features == "taste":
        # Shares alone recover the demo shop's tastes best (docs/segments-models.md): the
        # focus and price columns add noise there, so they serve "all" and the portraits.
        frame = frame[list(shares.columns)]
    return frame.sort_index(), customers


def block_weights(columns: list[str]) -> list[float]:
    """Weights that make each group of features — behaviour, category shares, the rest —
    count as much as the others (each group's columns share a total weight of 1), so eleven
    behavioural columns do not drown five category shares."""
    groups = ["behaviour" if c in BEHAVIOUR_FEATURES else "taste" if c.startswith("share_")
              else "other" for c in columns]
    sizes = {g: groups.count(g) for g in set(groups)}
    return [1.0 / float(np.sqrt(sizes[g])) for g in groups]


@dataclass
class ClusterResult:
    """Who is in which cluster, the model, and a portrait of each cluster."""

    labels: pd.Series  # cluster per profile_id
    model: BehaviourKMeans
    portraits: list[dict[str, Any]]
    features: list[str]
    population: Customers = field(default_factory=Customers)

    def summary(self) -> dict[str, Any]:
        return {"customers": int(self.labels.size), "k": int(self.model.n_clusters_),
                "silhouette": {str(k): v for k, v in self.model.silhouette_scores_.items()},
                "features": self.features, "clusters": self.portraits,
                **self.population.report()}

    def members(self) -> dict[str, list[str]]:
        """Profile ids per cluster, keyed ``cluster-<n>``."""
        return {f"cluster-{c}": sorted(self.labels.index[self.labels == c])
                for c in range(self.model.n_clusters_)}


def cluster_customers(source: Source, *, as_of: datetime | None = None,
                      n_clusters: int | None = None, max_clusters: int = 8,
                      features: str = "all", sample_size: int = 5000,
                      random_state: int = 0, include_anonymous: bool = False
                      ) -> ClusterResult:
    """Cluster every customer of ``source`` (identified people unless
    ``include_anonymous``) and portray the clusters."""
    frame, population = clustering_frame(source, as_of=as_of, features=features,
                                         include_anonymous=include_anonymous)
    n = len(frame)
    if n < _MIN_SAMPLES:
        left = (f"; {population.excluded:,} anonymous profiles were left out "
                "(--include-anonymous takes them)" if population.excluded else "")
        raise InvalidInput(f"too few customers to cluster: {n}, at least {_MIN_SAMPLES} "
                           f"needed{left}", field="customers")
    if n_clusters is not None and not 2 <= n_clusters <= n - 1:
        raise InvalidInput(f"k must be between 2 and {n - 1} (one less than the {n} "
                           f"customers), got {n_clusters}", field="k")
    if n_clusters is None and max_clusters < 2:
        raise InvalidInput(f"max_k must be 2 or more, got {max_clusters}", field="max_k")
    model = BehaviourKMeans(n_clusters=n_clusters, max_clusters=max_clusters,
                            sample_size=sample_size, random_state=random_state,
                            feature_weights=block_weights(list(frame.columns)))
    model.fit(frame.to_numpy())
    labels = pd.Series(model.labels_, index=frame.index, name="cluster")
    return ClusterResult(labels=labels, model=model,
                         portraits=describe_clusters(frame, model.labels_),
                         features=list(frame.columns), population=population)
