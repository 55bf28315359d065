"""Forgetting people in a trained model, without retraining it.

Erasure removes a person's row from everything a model keeps per person: the interactions
it was trained on (so no list and no reason ever cites their items again), per-person learned
state (a factorisation's user vectors, the social graph's ties and names, a user-kNN's
neighbour index) and events folded in since. What the person added to shared, item-side
statistics (item similarities, co-occurrence, EASE weights, factor vectors of items) is an
aggregate over everyone and stays until the next `tailored train`; popularity is counted again
at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from tailored.recommend.interactions import Interactions

if TYPE_CHECKING:
    from tailored.recommend.base import Recommender

__all__ = ["forget_people", "without_rows"]


def without_rows(data: Interactions, keep: np.ndarray) -> Interactions:
    """The interactions of the people where ``keep`` is True only."""
    return Interactions(
        matrix=data.matrix[keep], user_ids=data.user_ids[keep], item_ids=data.item_ids,
        strongest=data.strongest[keep],
        last_seen=None if data.last_seen is None else data.last_seen[keep])


def forget_people(model: Recommender, ids: Iterable[str]) -> int:
    """Remove the people known by any of ``ids`` from ``model``, in place; returns how many
    rows (trained or folded in) went. Ids the model does not hold are ignored."""
    model._check_fitted()
    ids = set(ids)
    fresh = [u for u in model._fresh if u in ids]
    for user in fresh:
        model._fresh.pop(user, None)
        model._fresh_signals.pop(user, None)
        model._fresh_times.pop(user, None)
    data = model.interactions_
    rows = [i for u, i in data.user_index.items() if u in ids]
    if rows:
        keep = np.ones(len(data.user_ids), dtype=bool)
        keep[rows] = False
        model.interactions_ = without_rows(data, keep)
        binary = model.interactions_.matrix.copy()
        binary.data[:] = 1.0
        model.popularity_ = np.asarray(binary.sum(axis=0)).ravel()
        model._forget_rows(keep)
        meta = model.metadata_
        meta["users"] = len(model.interactions_.user_ids)
        meta["interactions"] = int(model.interactions_.matrix.nnz)
        meta["forgotten_people"] = int(meta.get("forgotten_people", 0)) + len(rows)
    return len(rows) + len([u for u in fresh if u not in data.user_index])
