"""Strong generalisation: the held-out-users protocol of Liang et al. (WWW 2018).

This is the protocol behind the published MovieLens-20M tables of Mult-VAE, EASE and RecVAE
(Recall@20, Recall@50, NDCG@100). Its users are split, not its interactions: the model
trains on one set of users and is scored on users it has never seen, who only "fold in"
part of their history at prediction time.

What :func:`strong_generalization_split` does, step by step as the authors' preprocessing
(the notebook of ``dawenl/vae_cf``, reused by RecVAE's ``preprocessing.py``):

1. Binarise: keep ratings strictly above ``rating_threshold`` (3.5: four stars or more on
   MovieLens). Tables without ratings are implicit feedback and are kept whole.
2. Keep users with at least ``min_interactions`` (5) of those; items are not filtered.
3. Shuffle the users (sorted by id first) with ``RandomState(seed).permutation``; the last
   ``2 * n_heldout`` become validation then test users, the rest training users.
4. The item set is the items of the training users; held-out users' interactions with
   other items are dropped.
5. For each held-out user with at least ``min_interactions`` interactions left, a random
   ``int(holdout_fraction * n)`` of them (20%, rounded down) is held out for scoring and the
   rest is folded in; users with fewer are folded in whole. The generator is re-seeded
   once before the validation users and once before the test users, users are visited in
   id order and each user's rows in table order, as there.

With the same seed (98765, theirs) and NumPy's legacy generator, the split is the very one
their code makes, row for row. One addition: repeated (user, item) pairs, which MovieLens
does not have, are reduced to their first row, so an item cannot be both folded in and held
out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailored.errors import InvalidInput
from tailored.evaluate.checks import check_fraction, check_positive_int
from tailored.evaluate.table import InteractionTable

__all__ = ["StrongGeneralizationSplit", "strong_generalization_split"]


@dataclass(frozen=True, eq=False)
class StrongGeneralizationSplit:
    """Training users' rows, and for each held-out group the rows to fold in and to score."""

    train: InteractionTable
    validation_fold_in: InteractionTable
    validation_holdout: InteractionTable
    test_fold_in: InteractionTable
    test_holdout: InteractionTable


def _fold_out(users: np.ndarray, rows: np.ndarray, fraction: float, minimum: int,
              seed: int) -> np.ndarray:
    """A mask over ``rows``: True for the rows held out for scoring."""
    # One loop over held-out users (tens of thousands at most): the legacy generator's
    # stream has to be consumed user by user, exactly as the reference code does.
    random = np.random.RandomState(seed)
    order = np.argsort(users[rows], kind="stable")
    sorted_users = users[rows][order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    ends = np.r_[starts[1:], len(order)]
    held = np.zeros(len(rows), dtype=bool)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        size = end - start
        if size >= minimum:
            picked = random.choice(size, size=int(fraction * size), replace=False)
            held[order[start + picked]] = True
    return held


def strong_generalization_split(
    table: InteractionTable, *, n_heldout: int, holdout_fraction: float = 0.2,
    min_interactions: int = 5, rating_threshold: float | None = 3.5, seed: int = 98765,
) -> StrongGeneralizationSplit:
    """Split users into training, validation and test users, as Liang et al. (2018).

    Parameters
    ----------
    table : InteractionTable
        All interactions; ``ratings`` are binarised when present.
    n_heldout : int
        Users in each of the validation and test groups (10,000 for MovieLens-20M in the
        paper, 40,000 for Netflix, 50,000 for the Million Song Dataset).
    holdout_fraction : float
        Share of each held-out user's items that is scored rather than folded in.
    min_interactions : int
        Users with fewer (after binarising) are dropped; held-out users with fewer items of
        the training item set are folded in whole.
    rating_threshold : float or None
        Ratings must be strictly greater to count; ``None`` keeps every row.
    seed : int
        Seeds NumPy's legacy ``RandomState``, as the reference code.

    Examples
    --------
    >>> users = np.repeat(np.arange(6), 10)
    >>> items = np.tile(np.arange(10), 6)
    >>> split = strong_generalization_split(InteractionTable(users, items), n_heldout=2)
    >>> len(split.train), len(split.test_fold_in), len(split.test_holdout)
    (20, 16, 4)
    """
    if len(table) == 0:
        raise InvalidInput("the interaction table is empty: there is nothing to split",
                           field="table")
    n_heldout = check_positive_int(n_heldout, "n_heldout")
    minimum = check_positive_int(min_interactions, "min_interactions")
    fraction = check_fraction(holdout_fraction, "holdout_fraction")
    keep = np.ones(len(table), dtype=bool)
    if table.ratings is not None and rating_threshold is not None:
        keep = table.ratings > rating_threshold
    rows = np.flatnonzero(keep)
    # First row of each (user, item) pair.
    _, user_code = np.unique(table.users[rows], return_inverse=True)
    item_ids, item_code = np.unique(table.items[rows], return_inverse=True)
    _, first = np.unique(user_code.astype(np.int64) * len(item_ids) + item_code,
                         return_index=True)
    rows = rows[np.sort(first)]
    user_ids, user_code, counts = np.unique(table.users[rows], return_inverse=True,
                                            return_counts=True)
    rows = rows[counts[user_code] >= minimum]
    user_ids = user_ids[counts >= minimum]
    n_train_users = len(user_ids) - 2 * n_heldout
    if n_train_users < 1:
        raise InvalidInput(f"{len(user_ids)} users have {minimum} or more interactions: "
                           f"too few for 2 × {n_heldout} held-out users and any training "
                           f"user", field="n_heldout")
    shuffled = user_ids[np.random.RandomState(seed).permutation(len(user_ids))]
    # 0 = training, 1 = validation, 2 = test, by position in the shuffled order.
    group = np.zeros(len(user_ids), dtype=np.int8)
    group[np.searchsorted(user_ids, shuffled[n_train_users:n_train_users + n_heldout])] = 1
    group[np.searchsorted(user_ids, shuffled[n_train_users + n_heldout:])] = 2
    row_group = group[np.searchsorted(user_ids, table.users[rows])]
    train_rows = rows[row_group == 0]
    known_item = np.isin(table.items[rows], np.unique(table.items[train_rows]))
    parts: list[InteractionTable] = [table.take(train_rows)]
    for heldout_group in (1, 2):
        group_rows = rows[(row_group == heldout_group) & known_item]
        held = _fold_out(table.users, group_rows, fraction, minimum, seed)
        parts += [table.take(group_rows[~held]), table.take(group_rows[held])]
    return StrongGeneralizationSplit(*parts)
