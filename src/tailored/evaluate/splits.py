"""Splitting protocols: which interactions a model learns from and which it is scored on.

Every protocol here is vectorised (a few sorts over the whole table, no loop over users)
and keeps one rule: **a user's test items are never in that user's training rows.** Data
with repeated events (a person viewing the same item twice) would otherwise leak, so

* the random splits assign each distinct (user, item) pair, with all of its rows, to one
  side;
* the temporal splits cut by time, then drop from the test side every row whose item the
  user already met before the cut (a re-consumption is not something to discover).

The random splits take a ``seed`` and give the same split for the same seed; the temporal
ones break timestamp ties by row order and so need none.

=================================  ===========================================================
:func:`random_split`               a global fraction of the distinct pairs goes to test
:func:`per_user_random_split`      the same fraction of each user's pairs (random 80/20 per user)
:func:`leave_last_n_split`         each user's ``n`` latest new items go to test
:func:`leave_one_out_split`        ``leave_last_n_split`` with ``n=1``
:func:`temporal_split`             one global cut, at a time or at a fraction of the rows
:func:`validation_split`           any of the above applied to a training table, for tuning
=================================  ===========================================================

The strong-generalisation protocol of Liang et al. (held-out users) is in
:mod:`tailored.evaluate.strong_generalization`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tailored.errors import InvalidInput
from tailored.evaluate.checks import check_fraction, check_positive_int
from tailored.evaluate.table import InteractionTable, Split

__all__ = [
    "leave_last_n_split",
    "leave_one_out_split",
    "per_user_random_split",
    "random_split",
    "temporal_split",
    "validation_split",
]


def _check_table(table: InteractionTable) -> None:
    if len(table) == 0:
        raise InvalidInput("the interaction table is empty: there is nothing to split",
                           field="table")


def _timestamps(table: InteractionTable) -> np.ndarray:
    _check_table(table)
    if table.timestamps is None:
        raise InvalidInput("a temporal split needs timestamps, and the table has none",
                           field="timestamps")
    return table.timestamps


def _pairs(table: InteractionTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the user's code and the (user, item) pair's code; and each pair's user code."""
    _, user_code = np.unique(table.users, return_inverse=True)
    items, item_code = np.unique(table.items, return_inverse=True)
    key = user_code.astype(np.int64) * len(items) + item_code
    pair_keys, pair_code = np.unique(key, return_inverse=True)
    return user_code, pair_code, pair_keys // len(items)


def _by_pair(table: InteractionTable, pair_code: np.ndarray, test_pair: np.ndarray) -> Split:
    test_row = test_pair[pair_code]
    return Split(train=table.take(~test_row), test=table.take(test_row))


def random_split(table: InteractionTable, *, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Send a random ``test_fraction`` of the distinct (user, item) pairs to test.

    A user may end up with no training rows (cold start in the test) or no test rows.

    Examples
    --------
    >>> table = InteractionTable(users=[1, 1, 1, 2, 2], items=[1, 2, 3, 1, 2])
    >>> split = random_split(table, test_fraction=0.4, seed=0)
    >>> len(split.train), len(split.test)
    (3, 2)
    """
    _check_table(table)
    test_fraction = check_fraction(test_fraction, "test_fraction")
    _, pair_code, pair_user = _pairs(table)
    n_pairs = len(pair_user)
    n_test = int(np.floor(test_fraction * n_pairs + 0.5))
    test_pair = np.zeros(n_pairs, dtype=bool)
    test_pair[np.random.default_rng(seed).permutation(n_pairs)[:n_test]] = True
    return _by_pair(table, pair_code, test_pair)


def per_user_random_split(table: InteractionTable, *, test_fraction: float = 0.2,
                          seed: int = 0) -> Split:
    """Send a random ``test_fraction`` of each user's distinct items to test.

    A user with ``n`` distinct items gets ``round(test_fraction * n)`` test items (halves
    round up), but always keeps at least one for training, so a user with a single item
    stays wholly in training.

    Examples
    --------
    >>> table = InteractionTable(users=[1] * 5 + [2] * 10, items=list(range(15)))
    >>> split = per_user_random_split(table, test_fraction=0.2, seed=0)
    >>> {user: len(items) for user, items in split.test.item_sets().items()}
    {1: 1, 2: 2}
    """
    _check_table(table)
    test_fraction = check_fraction(test_fraction, "test_fraction")
    _, pair_code, pair_user = _pairs(table)
    n_pairs = len(pair_user)
    # Shuffle the pairs within each user: sort by user, then by a random key.
    order = np.lexsort((np.random.default_rng(seed).random(n_pairs), pair_user))
    counts = np.bincount(pair_user)
    starts = np.cumsum(counts) - counts
    sorted_user = pair_user[order]
    rank = np.arange(n_pairs) - starts[sorted_user]
    n_test = np.minimum(np.floor(test_fraction * counts + 0.5), counts - 1)
    test_pair = np.zeros(n_pairs, dtype=bool)
    test_pair[order] = rank < n_test[sorted_user]
    return _by_pair(table, pair_code, test_pair)


def leave_last_n_split(table: InteractionTable, *, n: int = 1) -> Split:
    """Send each user's ``n`` most recently discovered items to test.

    Per user, rows are ordered by time (ties by row order); the cut falls at the first
    event of the ``n``-th newest distinct item. Rows before the cut train; rows after it
    test, except re-consumptions of items met before the cut, which are dropped. Without
    repeated events this is exactly "the latest ``n`` rows of each user". Users with ``n``
    or fewer distinct items stay wholly in training.

    Examples
    --------
    >>> table = InteractionTable(users=[1, 1, 1, 2], items=[7, 8, 9, 7],
    ...                          timestamps=[30, 10, 20, 5])
    >>> split = leave_last_n_split(table, n=1)
    >>> split.test.item_sets(), split.train.item_sets()
    ({1: {7}}, {1: {8, 9}, 2: {7}})
    """
    n = check_positive_int(n, "n")
    stamps = _timestamps(table)
    user_code, pair_code, _ = _pairs(table)
    # np.lexsort is stable, so rows with equal timestamps keep their order.
    order = np.lexsort((stamps, user_code))
    users, pairs = user_code[order], pair_code[order]
    position = np.arange(len(order))
    # Position of each pair's first event (np.unique reports first occurrences).
    first = np.empty(pair_code.max() + 1, dtype=np.int64)
    unique_pairs, first_position = np.unique(pairs, return_index=True)
    first[unique_pairs] = first_position
    is_new = first[pairs] == position
    # Each user's discoveries (first events of a distinct item), in time order.
    found = position[is_new]
    found_user = users[found]
    per_user = np.bincount(found_user, minlength=user_code.max() + 1)
    rank = np.arange(len(found)) - (np.cumsum(per_user) - per_user)[found_user]
    cut = np.full(len(per_user), len(order))  # past the end: no test rows
    # Users with n or fewer distinct items have no cut: they need something to train on.
    at_cut = (rank == per_user[found_user] - n) & (per_user[found_user] > n)
    cut[found_user[at_cut]] = found[at_cut]
    after = position >= cut[users]
    train = order[~after]
    test = order[after & (first[pairs] >= cut[users])]
    return Split(train=table.take(np.sort(train)), test=table.take(np.sort(test)))


def leave_one_out_split(table: InteractionTable) -> Split:
    """Send each user's most recently discovered item to test (:func:`leave_last_n_split`)."""
    return leave_last_n_split(table, n=1)


def temporal_split(table: InteractionTable, *, at: Any = None,
                   test_fraction: float | None = None) -> Split:
    """Cut the whole table at one moment: earlier rows train, later rows test.

    Give the moment ``at`` (rows at or after it test), or ``test_fraction`` to cut where
    that share of the rows is later (ties at the cut go to test, so the share may be a
    little larger). Test rows of items the user met before the cut are dropped. The test
    may hold users and items absent from training, as it would in production.

    Examples
    --------
    >>> table = InteractionTable(users=[1, 1, 2, 2], items=[7, 8, 7, 9],
    ...                          timestamps=[1, 2, 3, 4])
    >>> split = temporal_split(table, at=3)
    >>> split.train.timestamps.tolist(), split.test.timestamps.tolist()
    ([1, 2], [3, 4])
    """
    if (at is None) == (test_fraction is None):
        raise InvalidInput("give exactly one of at and test_fraction", field="at")
    stamps = _timestamps(table)
    if at is None:
        fraction = check_fraction(test_fraction, "test_fraction")
        n_test = max(1, int(np.floor(fraction * len(stamps) + 0.5)))
        at = np.sort(stamps)[len(stamps) - n_test]
    later = stamps >= at
    _, pair_code, _ = _pairs(table)
    seen = np.zeros(pair_code.max() + 1, dtype=bool)
    seen[pair_code[~later]] = True
    return Split(train=table.take(~later), test=table.take(later & ~seen[pair_code]))


_PROTOCOLS: dict[str, Callable[..., Split]] = {
    "random": random_split,
    "per_user_random": per_user_random_split,
    "leave_last_n": leave_last_n_split,
    "leave_one_out": leave_one_out_split,
    "temporal": temporal_split,
}


def validation_split(train: InteractionTable, *, protocol: str = "per_user_random",
                     **options: Any) -> Split:
    """Carve a validation split out of a training table, for tuning; the test is untouched.

    ``protocol`` names one of the splits above (``random``, ``per_user_random``,
    ``leave_last_n``, ``leave_one_out``, ``temporal``) and ``options`` are its keyword
    arguments. Use the protocol of the outer split, so tuning sees the same task. Fit on
    the returned ``train`` and score on its ``test`` (the validation rows).

    Examples
    --------
    >>> table = InteractionTable(users=[1, 1, 1, 2, 2], items=[7, 8, 9, 7, 8],
    ...                          timestamps=[1, 2, 3, 1, 2])
    >>> inner = validation_split(table, protocol="leave_one_out")
    >>> inner.test.item_sets()
    {1: {9}, 2: {8}}
    """
    try:
        split = _PROTOCOLS[protocol]
    except KeyError:
        raise InvalidInput(f"unknown protocol {protocol!r}; choose one of "
                           f"{', '.join(_PROTOCOLS)}", field="protocol") from None
    return split(train, **options)
