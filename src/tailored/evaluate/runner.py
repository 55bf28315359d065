"""Evaluating a recommender on a split: fit on train, rank for each test person, score."""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from tailored.errors import InvalidInput
from tailored.evaluate.metrics import evaluate_ranking
from tailored.evaluate.table import InteractionTable
from tailored.recommend import MODELS, Interactions, Recommender, SideData

__all__ = ["evaluate_model", "fit_on", "item_universe"]


def fit_on(name: str, train: InteractionTable, params: dict[str, Any] | None = None,
           *, item_ids: np.ndarray | None = None, side: SideData | None = None,
           ) -> tuple[Recommender, float]:
    """A model fitted on a training table (ratings, where present, are the weights), with
    ``side`` data (item records, social ties) for the models that use it."""
    if name not in MODELS:
        raise InvalidInput(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}",
                           field="model")
    if len(train) == 0:
        raise InvalidInput("the training table is empty", field="train")
    data = Interactions.from_arrays(train.users.astype(str), train.items.astype(str),
                                    train.ratings, item_ids=item_ids,
                                    timestamps=_usable_times(train.timestamps))
    model = MODELS[name](**(params or {}))
    if side is not None:
        model.with_side(side)
    started = time.perf_counter()
    model.fit(data)
    return model, time.perf_counter() - started


def _usable_times(ts: np.ndarray | None) -> np.ndarray | None:
    """Timestamps models can order a history by; None if absent, not times, or incomplete
    (models then treat a history as unordered, as they would without them)."""
    if ts is None:
        return None
    if np.issubdtype(ts.dtype, np.datetime64):
        return None if np.isnat(ts).any() else ts
    if np.issubdtype(ts.dtype, np.number) and np.isfinite(ts).all():
        return ts
    return None


def item_universe(train: InteractionTable, test: InteractionTable) -> np.ndarray:
    """The item ids a split's models are fitted over: every item of train and test."""
    return np.unique(np.concatenate([train.items.astype(str), test.items.astype(str)]))


def evaluate_model(
    name: str, train: InteractionTable, test: InteractionTable, k: int = 10, *,
    params: dict[str, Any] | None = None, candidates: InteractionTable | None = None,
    relevance_threshold: float | None = None,
    fitted: tuple[Recommender, float] | None = None, side: SideData | None = None,
) -> dict[str, Any]:
    """Fit ``name`` on ``train`` and score its top ``k`` for every person in ``test``.

    ``fitted`` (a model already fitted on ``train`` by :func:`fit_on` with the same item
    ids, and its fit seconds) skips the fit: how tuning scores several values of a
    parameter read only when scoring (``Recommender.scoring_params``) from one fit.

    Relevant items are a person's test items (with ``relevance_threshold``, those rated at
    least that). With ``candidates``, each person's list ranks only their candidate items
    (the sampled-negatives protocol). Test people absent from training are counted and get
    the model's cold-start list; if none of them is known, the split is refused.
    """
    if not isinstance(k, int) or k <= 0:
        raise InvalidInput(f"k must be a positive whole number, got {k!r}", field="k")
    test_users = test.users.astype(str)
    test_items = test.items.astype(str)
    keep = np.ones(len(test), dtype=bool)
    if relevance_threshold is not None:
        if test.ratings is None:
            raise InvalidInput("relevance_threshold needs ratings in the test file",
                               field="rating")
        keep = test.ratings >= relevance_threshold
    relevant: dict[Hashable, set[Hashable]] = {}
    for u, i in zip(test_users[keep].tolist(), test_items[keep].tolist(), strict=True):
        relevant.setdefault(u, set()).add(i)
    if not relevant:
        raise InvalidInput("the test table has no relevant interactions", field="test")
    all_items = item_universe(train, test)
    model, seconds = fitted or fit_on(name, train, params, item_ids=all_items, side=side)
    known = model.interactions_.user_index
    unknown = [str(u) for u in relevant if u not in known]
    if len(unknown) == len(relevant):
        raise InvalidInput(f"no person of the test table is in the training table (e.g. "
                           f"{unknown[0]!r}): the ids do not match", field="user_id")
    recommended: dict[Hashable, Sequence[Hashable]] = {}
    if candidates is None:
        # Scored in batches, no reasons built: the same lists as recommend() gives.
        people = list(relevant)
        tops = model.top_items([str(u) for u in people], k)
        for u in people:
            recommended[u] = tops[str(u)]
    else:
        per_user: dict[str, list[str]] = {}
        for u, i in zip(candidates.users.astype(str).tolist(),
                        candidates.items.astype(str).tolist(), strict=True):
            per_user.setdefault(u, []).append(i)
        for u in relevant:
            recommended[u] = model.rank(str(u), per_user.get(str(u), []))[:k]
    train_counts = dict(zip(model.interactions_.item_ids.tolist(),
                            model.popularity_.tolist(), strict=True))
    metrics = evaluate_ranking(recommended, relevant, k,
                               catalog_size=len(model.interactions_.item_ids),
                               train_counts=train_counts)
    return {"model": name, "k": k, "metrics": metrics, "train_seconds": round(seconds, 3),
            "users_evaluated": len(relevant), "test_users_unknown": len(unknown),
            "params": model.get_params()}
