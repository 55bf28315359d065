"""Ranking metrics, as Microsoft Recommenders defines them.

Definitions follow ``recommenders.evaluation.python_evaluation`` (recommenders 1.2); for a
user ``u`` with relevant set ``R_u`` and top-``k`` list ``L_u``, with ``hit_i`` = 1 when the
item at rank ``i`` (from 1) is relevant:

* Precision@k = ``|hits| / k`` — divided by ``k`` even when fewer than ``k`` items were
  recommended (as Spark and Microsoft Recommenders; not by ``len(L_u)``).
* Recall@k = ``|hits| / |R_u|``.
* F1@k = harmonic mean of the *averaged* precision and recall (Microsoft Recommenders has
  no F1 of its own; this is the usual way to add one, not a mean of per-user F1).
* NDCG@k, binary relevance: ``DCG = Σ hit_i / log(1 + i)``, ideal DCG the same sum over
  ``min(k, |R_u|)`` hits. Microsoft Recommenders uses the natural logarithm by default;
  any base gives the same ratio, so this equals the usual ``log2`` form.
* MAP@k: ``AP_u = Σ_i hit_i · (hits in the first i) / i``, divided by ``min(k, |R_u|)`` —
  their ``map_at_k`` (after Spark's ``meanAveragePrecisionAt``). Their ``map`` divides by
  ``|R_u|`` instead, which punishes users with more than ``k`` relevant items even for a
  perfect list; some libraries divide by the number of hits or by ``k``.
* MRR@k: ``1 / rank of the first hit``, 0 without one. Hit rate@k: 1 if any hit. (Their
  Python evaluation has neither; these are the usual definitions.)

Averaging: over the users of ``relevant`` that have at least one relevant item; users in
``recommended`` only are ignored. **A user without recommendations counts as zero.**
Microsoft Recommenders' NDCG does the same, but its precision, recall and MAP average over
users present in both tables, which lets a model that declines hard users look better;
we count every user with a test item in every metric.

Duplicates in a list (a bug in the model, usually): only the first occurrence of an item can
hit; a repeat is a miss that still takes its rank. RMSE and MAE, for predicted ratings, are in
:mod:`tailored.evaluate.rating_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.evaluate.arrays import SparseIndex, first_in_row
from tailored.evaluate.beyond_accuracy import catalog_coverage, novelty
from tailored.evaluate.checks import check_positive_int
from tailored.evaluate.types import Recommended, Relevant

if TYPE_CHECKING:
    from collections.abc import Collection, Hashable, Mapping, Sequence

    from numpy.typing import ArrayLike

__all__ = [
    "evaluate_ranking",
    "f1_at_k",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]


@dataclass(frozen=True)
class _Hits:
    """Per evaluated user: which of the top-k ranks hit, and how many items are relevant."""

    hits: np.ndarray  # (n_users, k) bool
    n_relevant: np.ndarray  # (n_users,) int

    @classmethod
    def of(cls, recommended: Recommended, relevant: Relevant, k: int) -> _Hits:
        k = check_positive_int(k, "k")
        if isinstance(recommended, np.ndarray) or sp.issparse(relevant):
            hits, n_relevant = _array_hits(recommended, relevant, k)  # type: ignore[arg-type]
        else:
            hits, n_relevant = _mapping_hits(recommended, relevant, k)
        if not len(n_relevant):
            raise InvalidInput("nothing to evaluate: no user has a relevant item",
                               field="relevant")
        return cls(hits, n_relevant)


def _mapping_hits(recommended: Mapping[Hashable, Sequence[Hashable]],
                  relevant: Mapping[Hashable, Collection[Hashable]],
                  k: int) -> tuple[np.ndarray, np.ndarray]:
    users = [user for user, items in relevant.items() if len(items)]
    flags: list[list[bool]] = []
    n_relevant = np.empty(len(users), dtype=np.int64)
    for number, user in enumerate(users):
        items = relevant[user]
        wanted = items if isinstance(items, set | frozenset) else set(items)
        n_relevant[number] = len(wanted)
        listed = recommended.get(user)
        top = [] if listed is None else list(listed[:k])
        row = [item in wanted for item in top]
        if len(set(top)) < len(top):
            # Only an item's first occurrence may hit; a repeat is a wasted rank.
            seen: set[Hashable] = set()
            for position, item in enumerate(top):
                row[position] = row[position] and item not in seen
                seen.add(item)
        flags.append(row)
    lengths = np.fromiter(map(len, flags), dtype=np.int64, count=len(flags))
    flat = np.fromiter(chain.from_iterable(flags), dtype=bool, count=int(lengths.sum()))
    hits = np.zeros((len(users), k), dtype=bool)
    rows = np.repeat(np.arange(len(users)), lengths)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    hits[rows[flat], cols[flat]] = True
    return hits, n_relevant


def _array_hits(recommended: np.ndarray, relevant: sp.sparray | sp.spmatrix,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    top = np.asarray(recommended)
    if top.ndim != 2 or not sp.issparse(relevant):
        raise InvalidInput("in array form, recommended is a 2-d integer array and relevant "
                           "a SciPy sparse matrix", field="recommended")
    n_users = relevant.shape[0]
    if top.shape[0] != n_users:
        raise InvalidInput(f"recommended has {top.shape[0]} rows and relevant {n_users}",
                           field="recommended")
    top = top[:, :k].astype(np.int64)
    rows = np.broadcast_to(np.arange(n_users)[:, None], top.shape)
    index = SparseIndex(relevant)
    found, _ = index.get(rows.ravel(), np.maximum(top, 0).ravel())
    # Only an item's first occurrence may hit; a repeat is a wasted rank.
    hits = np.zeros((n_users, k), dtype=bool)
    hits[:, :top.shape[1]] = found.reshape(top.shape) & first_in_row(top)
    n_relevant = index.row_counts
    keep = n_relevant > 0
    return hits[keep], n_relevant[keep]


def _mean(per_user: np.ndarray) -> float:
    return float(per_user.mean())


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def _precision(h: _Hits) -> np.ndarray:
    return h.hits.sum(axis=1) / h.hits.shape[1]


def _recall(h: _Hits) -> np.ndarray:
    return h.hits.sum(axis=1) / h.n_relevant


def _ndcg(h: _Hits) -> np.ndarray:
    k = h.hits.shape[1]
    discount = _discounts(k)
    ideal = np.cumsum(discount)[np.minimum(h.n_relevant, k) - 1]
    return (h.hits @ discount) / ideal


def _average_precision(h: _Hits) -> np.ndarray:
    k = h.hits.shape[1]
    precision_at_rank = np.cumsum(h.hits, axis=1) / np.arange(1, k + 1)
    return (precision_at_rank * h.hits).sum(axis=1) / np.minimum(h.n_relevant, k)


def _reciprocal_rank(h: _Hits) -> np.ndarray:
    first = h.hits.argmax(axis=1)
    return np.where(h.hits.any(axis=1), 1.0 / (first + 1), 0.0)


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 0.0 if total == 0 else 2 * precision * recall / total


def precision_at_k(recommended: Recommended, relevant: Relevant, k: int) -> float:
    """Mean share of the top ``k`` ranks holding a relevant item (hits / k).

    Examples
    --------
    >>> precision_at_k({"ann": ["a", "b", "c"]}, {"ann": {"a", "c", "z"}}, k=2)
    0.5
    """
    h = _Hits.of(recommended, relevant, k)
    return _mean(_precision(h))


def recall_at_k(recommended: Recommended, relevant: Relevant, k: int) -> float:
    """Mean share of each user's relevant items found in the top ``k``.

    Examples
    --------
    >>> recall_at_k({"ann": ["a", "b", "c"]}, {"ann": {"a", "c", "z", "y"}}, k=3)
    0.5
    """
    h = _Hits.of(recommended, relevant, k)
    return _mean(_recall(h))


def f1_at_k(recommended: Recommended, relevant: Relevant, k: int) -> float:
    """Harmonic mean of :func:`precision_at_k` and :func:`recall_at_k`.

    Examples
    --------
    >>> f1_at_k({"ann": ["a", "b"]}, {"ann": {"a", "c", "d", "e"}}, k=2)  # P=1/2, R=1/4
    0.3333333333333333
    """
    h = _Hits.of(recommended, relevant, k)
    return _f1(_mean(_precision(h)), _mean(_recall(h)))


def ndcg_at_k(recommended: Recommended, relevant: Relevant, k: int) -> float:
    """Mean normalised discounted cumulative gain of the top ``k``, binary relevance.

    Examples
    --------
    >>> ndcg_at_k({"ann": ["b", "a"]}, {"ann": {"a"}}, k=2)  # (1/log2 3) / (1/log2 2)
    0.6309297535714575
    """
    h = _Hits.of(recommended, relevant, k)
    return _mean(_ndcg(h))


def map_at_k(recommended: Recommended, relevant: Relevant, k: int) -> float:
    """Mean average precision of the top ``k``, normalised by ``min(k, |relevant|)``.

    Examples
    --------
    >>> map_at_k({"ann": ["a", "b", "c"]}, {"ann": {"a", "c"}}, k=3)  # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    h = _Hits.of(recommended, relevant, k)
    return _mean(_average_precision(h))


def mrr_at_k(recommended: Recommended, relevant: Relevant, k: int) -> float:
    """Mean reciprocal rank of the first relevant item in the top ``k`` (0 if none).

    Examples
    --------
    >>> mrr_at_k({"ann": ["b", "c", "a"]}, {"ann": {"a"}}, k=3)
    0.3333333333333333
    """
    h = _Hits.of(recommended, relevant, k)
    return _mean(_reciprocal_rank(h))


def hit_rate_at_k(recommended: Recommended, relevant: Relevant, k: int) -> float:
    """Share of users with at least one relevant item in their top ``k``.

    Examples
    --------
    >>> hit_rate_at_k({"ann": ["a"], "bob": ["a"]}, {"ann": {"a"}, "bob": {"b"}}, k=1)
    0.5
    """
    h = _Hits.of(recommended, relevant, k)
    return _mean(h.hits.any(axis=1).astype(float))


def evaluate_ranking(recommended: Recommended, relevant: Relevant, k: int, *,
                     catalog_size: int,
                     train_counts: Mapping[Hashable, int] | ArrayLike | None = None,
                     ) -> dict[str, float]:
    """Every ranking metric at ``k`` in one pass, keyed as ``tailored evaluate`` prints them.

    Keys: ``precision@k``, ``recall@k``, ``f1@k``, ``ndcg@k``, ``map@k``, ``mrr@k``,
    ``hit_rate@k``, ``coverage@k``, and ``novelty@k`` when ``train_counts`` is given.
    Coverage and novelty look at the lists of every user in ``recommended``.

    Examples
    --------
    >>> metrics = evaluate_ranking({"ann": ["a", "b"]}, {"ann": {"b"}}, 2, catalog_size=4)
    >>> metrics["precision@2"], metrics["mrr@2"], metrics["coverage@2"]
    (0.5, 0.5, 0.5)
    """
    h = _Hits.of(recommended, relevant, k)
    precision, recall = _mean(_precision(h)), _mean(_recall(h))
    metrics = {
        f"precision@{k}": precision,
        f"recall@{k}": recall,
        f"f1@{k}": _f1(precision, recall),
        f"ndcg@{k}": _mean(_ndcg(h)),
        f"map@{k}": _mean(_average_precision(h)),
        f"mrr@{k}": _mean(_reciprocal_rank(h)),
        f"hit_rate@{k}": _mean(h.hits.any(axis=1).astype(float)),
        f"coverage@{k}": catalog_coverage(recommended, k, catalog_size=catalog_size),
    }
    if train_counts is not None:
        metrics[f"novelty@{k}"] = novelty(recommended, k, train_counts=train_counts)
    return metrics
