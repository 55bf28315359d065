"""Scoring people the model never trained on: fold in part of their history, rank the rest.

The second half of the strong-generalisation protocol (Liang et al., WWW 2018; see
:mod:`tailored.evaluate.strong_generalization` for the split): the model learns from the
training users only; each held-out user's fold-in items are given to it as new events
(``Recommender.update``, no refit — the same path a live visitor takes) and its list, with
the fold-in items excluded, is scored against the user's held-out items.

Metrics are the paper's, so figures line up with its tables (Mult-VAE, EASE, RecVAE):

* ``recall@k`` = hits / min(k, |held-out|) — *their* recall, which a perfect list scores 1 on
  even when a user has more than k held-out items. (:mod:`tailored.evaluate.metrics`'s
  Recall@k, Microsoft Recommenders', divides by |held-out| and is given as
  ``recall_full@k``.)
* ``ndcg@k`` with binary relevance, the ideal over min(k, |held-out|) hits: the same as ours.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from tailored.errors import InvalidInput
from tailored.evaluate.table import InteractionTable
from tailored.recommend import SideData

__all__ = ["PAPER_KS", "evaluate_fold_in"]

PAPER_KS = ((20, "recall"), (50, "recall"), (100, "ndcg"))


def _per_user(table: InteractionTable) -> dict[str, list[tuple[str, float]]]:
    """Each user's (item, weight) rows; the weight is the rating where there is one, as
    training reads it."""
    weights = (np.ones(len(table)) if table.ratings is None
               else table.ratings.astype(np.float64))
    out: dict[str, list[tuple[str, float]]] = {}
    for u, i, w in zip(table.users.astype(str).tolist(), table.items.astype(str).tolist(),
                       weights.tolist(), strict=True):
        out.setdefault(u, []).append((i, w))
    return out


def evaluate_fold_in(
    name: str, train: InteractionTable, fold_in: InteractionTable,
    holdout: InteractionTable, *, ks: Sequence[int] = (20, 50, 100),
    params: dict[str, Any] | None = None, side: SideData | None = None,
) -> dict[str, Any]:
    """Fit ``name`` on ``train`` (training users only), fold each held-out user's
    ``fold_in`` rows in, and score their list against their ``holdout`` rows."""
    from tailored.evaluate.runner import fit_on

    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] <= 0:
        raise InvalidInput(f"ks must be positive whole numbers, got {ks!r}", field="k")
    held = _per_user(holdout)
    if not held:
        raise InvalidInput("the held-out table is empty: nobody to score", field="holdout")
    folded = _per_user(fold_in)
    items = np.unique(train.items.astype(str))
    model, seconds = fit_on(name, train, params, item_ids=items, side=side)
    overlap = set(held) & set(model.interactions_.user_index)
    if overlap:
        raise InvalidInput(f"held-out users must not be training users (e.g. "
                           f"{sorted(overlap)[0]!r}): that is not strong generalisation",
                           field="user_id")
    known = set(items.tolist())
    depth = ks[-1]
    sums = {f"{m}@{k}": 0.0 for k in ks for m in ("recall", "recall_full", "ndcg")}
    discounts = 1.0 / np.log2(np.arange(2, depth + 2))
    started = time.perf_counter()
    for user, relevant_items in held.items():
        relevant = {i for i, _ in relevant_items if i in known}
        if not relevant:
            raise InvalidInput(f"user {user!r}'s held-out items are not among the training "
                               "items", field="item_id")
        rows = [(i, w) for i, w in folded.get(user, []) if i in known]
        model.update(user, [i for i, _ in rows], [w for _, w in rows])
        ranked = [r.item_id for r in model.recommend(user, depth)]
        hits = np.array([i in relevant for i in ranked] + [False] * (depth - len(ranked)))
        for k in ks:
            n_hits = float(hits[:k].sum())
            sums[f"recall@{k}"] += n_hits / min(k, len(relevant))
            sums[f"recall_full@{k}"] += n_hits / len(relevant)
            ideal = discounts[:min(k, len(relevant))].sum()
            sums[f"ndcg@{k}"] += float((hits[:k] * discounts[:k]).sum()) / ideal
    n = len(held)
    return {"model": name, "metrics": {m: v / n for m, v in sums.items()}, "users": n,
            "train_seconds": round(seconds, 3),
            "fold_in_seconds": round(time.perf_counter() - started, 3),
            "params": model.get_params()}
