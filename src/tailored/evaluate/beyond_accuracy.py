"""Beyond accuracy: how much of the catalogue, how novel, how varied the lists are.

As Microsoft Recommenders (``recommenders.evaluation.python_evaluation``):

* catalogue coverage (Shani and Gunawardana 2010): distinct recommended items divided by
  the catalogue size. Theirs divides by the distinct items of the training data; pass that
  number as ``catalog_size`` to get their figure, or the full catalogue's size to count
  items never interacted with.
* novelty (Castells, Vargas and Wang 2011, item choice model): an item's novelty is
  ``-log2(n_i / n)``, its share of the ``n`` training interactions; the metric is its mean
  over every recommended (user, item), all lists pooled. An item absent from training
  adds 0 and still counts in the mean, exactly as their join does.
* intra-list diversity (Ziegler et al. 2005, as their ``diversity``): per user,
  ``1 -`` the mean similarity over the unordered pairs of their list, averaged over users
  with two or more items. Similarity is the cosine of item feature vectors (a zero vector
  is similar to nothing), or any symmetric item-item matrix you give, such as their
  co-occurrence cosine.

Each looks at the distinct items of every user's top ``k`` in ``recommended``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.evaluate.arrays import SparseIndex, first_in_row
from tailored.evaluate.checks import check_positive_int
from tailored.evaluate.types import Recommended

if TYPE_CHECKING:
    from collections.abc import Hashable

    from numpy.typing import ArrayLike

__all__ = ["catalog_coverage", "intra_list_diversity", "novelty"]

# Pairs scored at once by intra_list_diversity: bounds the memory of the gathers.
_PAIR_CHUNK = 4_000_000


def _top_lists(recommended: Recommended,
               k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | list[Hashable]]:
    """The distinct items of each top-k list, as (list number, position, item) per entry."""
    k = check_positive_int(k, "k")
    if isinstance(recommended, np.ndarray):
        top = recommended[:, :k].astype(np.int64)
        keep = first_in_row(top)
        rows = np.nonzero(keep)[0]
        # Positions among the kept entries of the row, so that lists stay dense.
        positions = np.cumsum(keep, axis=1)[keep] - 1
        return rows, positions, top[keep]
    # dict.fromkeys keeps the first occurrence of each item, in order.
    lists = [list(dict.fromkeys(items[:k])) for items in recommended.values()]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    rows = np.repeat(np.arange(len(lists)), lengths)
    positions = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows, positions, list(chain.from_iterable(lists))


def catalog_coverage(recommended: Recommended, k: int, *, catalog_size: int) -> float:
    """Share of the catalogue that appears in at least one top-``k`` list.

    Examples
    --------
    >>> catalog_coverage({"ann": ["a", "b"], "bob": ["b", "c"]}, 2, catalog_size=10)
    0.3
    """
    catalog_size = check_positive_int(catalog_size, "catalog_size")
    _, _, items = _top_lists(recommended, k)
    distinct = len(np.unique(items)) if isinstance(items, np.ndarray) else len(set(items))
    return distinct / catalog_size


def novelty(recommended: Recommended, k: int, *,
            train_counts: Mapping[Hashable, int] | ArrayLike) -> float:
    """Mean self-information ``-log2(n_i / n)`` of the recommended items.

    ``train_counts`` maps an item to its number of training interactions, or is an array
    indexed by item number (the array form of ``recommended``).

    Examples
    --------
    >>> novelty({"ann": ["a", "b"]}, 2, train_counts={"a": 2, "b": 1, "c": 1})
    1.5
    """
    _, _, items = _top_lists(recommended, k)
    if not len(items):
        raise InvalidInput("nothing to evaluate: no items were recommended",
                           field="recommended")
    if isinstance(train_counts, Mapping):
        counts = np.fromiter((train_counts.get(item, 0) for item in items), dtype=np.float64,
                             count=len(items))
        total = float(sum(train_counts.values()))
    else:
        table = np.asarray(train_counts, dtype=float)
        index = np.asarray(items, dtype=np.int64)
        inside = (index >= 0) & (index < len(table))
        counts = np.where(inside, table[np.where(inside, index, 0)], 0.0)
        total = float(table.sum())
    if total <= 0:
        raise InvalidInput("train_counts holds no interaction", field="train_counts")
    seen = counts > 0
    information = np.zeros(len(items))
    information[seen] = -np.log2(counts[seen] / total)
    return float(information.mean())


def _pair_sums(rows: np.ndarray, positions: np.ndarray, index: np.ndarray, n_lists: int,
               similarity: np.ndarray | sp.sparray | sp.spmatrix) -> np.ndarray:
    """Per list, the sum of ``similarity`` over its unordered pairs of items."""
    length = int(positions.max()) + 1
    padded = np.full((n_lists, length), -1, dtype=np.int64)
    padded[rows, positions] = index
    first, second = np.triu_indices(length, 1)
    sums = np.zeros(n_lists)
    step = max(1, _PAIR_CHUNK // max(1, len(first)))
    sparse = SparseIndex(similarity) if sp.issparse(similarity) else None
    dense = np.asarray(similarity if sparse is None else [[0.0]], dtype=float)
    for start in range(0, n_lists, step):
        a, b = padded[start:start + step, first], padded[start:start + step, second]
        valid = (a >= 0) & (b >= 0)
        values = dense[a[valid], b[valid]] if sparse is None else sparse.get(a[valid],
                                                                             b[valid])[1]
        owner = np.nonzero(valid)[0] + start
        sums += np.bincount(owner, weights=values, minlength=n_lists)
    return sums


def intra_list_diversity(
    recommended: Recommended, k: int, *,
    item_features: np.ndarray | sp.sparray | sp.spmatrix | None = None,
    item_similarity: np.ndarray | sp.sparray | sp.spmatrix | None = None,
    item_index: Mapping[Hashable, int] | None = None,
) -> float:
    """Mean over users of ``1 -`` the mean pairwise similarity within their top ``k``.

    Give one of ``item_features`` (rows are items; cosine similarity) or
    ``item_similarity`` (items × items). ``item_index`` maps an item id to its row; without
    it the items are row numbers themselves.

    Examples
    --------
    >>> features = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> # ann: pairs (0,1) cos 1, (0,2) 0, (1,2) 0 -> 1 - 1/3; bob: (0,2) 0 -> 1
    >>> round(intra_list_diversity({"ann": [0, 1, 2], "bob": [0, 2]}, 3,
    ...                            item_features=features), 6)
    0.833333
    """
    if (item_features is None) == (item_similarity is None):
        raise InvalidInput("give exactly one of item_features and item_similarity",
                           field="item_features")
    rows, positions, items = _top_lists(recommended, k)
    if item_index is None:
        index = np.asarray(items, dtype=np.int64)
    else:
        unknown = [item for item in items if item not in item_index]
        if unknown:
            raise InvalidInput(f"{len(unknown)} recommended item(s) have no row in "
                               f"item_index, e.g. {unknown[0]!r}", field="item_index")
        index = np.fromiter((item_index[item] for item in items), dtype=np.int64,
                            count=len(items))
    matrix = item_features if item_features is not None else item_similarity
    n_rows = matrix.shape[0]  # type: ignore[union-attr]
    if len(index) and (index.min() < 0 or index.max() >= n_rows):
        raise InvalidInput(f"a recommended item's row is outside the {n_rows} rows given",
                           field="item_index")
    n_lists = len(recommended)
    lengths = np.bincount(rows, minlength=n_lists)
    many = lengths >= 2
    if not many.any():
        raise InvalidInput("intra-list diversity needs a list of two or more items",
                           field="recommended")
    if item_features is not None:
        # Σ_{i<j} cos(x_i, x_j) = (|Σ_i x̂_i|² − Σ_i |x̂_i|²) / 2 with unit vectors x̂: one
        # sparse product for all users, however long the feature vectors.
        features = sp.csr_array(item_features, dtype=float)
        norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1))).ravel()
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        unit = sp.diags_array(scale) @ features
        member = sp.csr_array((np.ones(len(index)), (rows, index)),
                              shape=(n_lists, n_rows))
        summed = member @ unit
        squared = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
        sums = (squared - member @ (norms > 0).astype(float)) / 2
    else:
        sums = _pair_sums(rows, positions, index, n_lists, item_similarity)
    n_pairs = lengths[many] * (lengths[many] - 1) / 2
    return float(np.mean(1.0 - sums[many] / n_pairs))
