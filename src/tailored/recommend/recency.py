"""Recency chosen by validation: how fast a person's older items fade when scoring.

What someone did last says most about what they want next, but how much more depends on the
data. Models that read a person's history when scoring (EASE, ALS) take
``recency_half_life="auto"`` by default: when the interactions have timestamps, each
person's latest items are held out, the model is fitted once on the rest, and the half-life
(in items: the n-th newest counts ``0.5 ** (n / half_life)``) that ranks the held-out items
best by NDCG@10 is kept — ``None``, no fading, is one of the choices. Without timestamps
nothing fades.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from tailored.recommend.base import Recommender
    from tailored.recommend.interactions import Interactions

__all__ = [
    "HALF_LIVES",
    "RecencyChosen",
    "check_half_life",
    "choose_half_life",
    "recency_state",
    "restore_recency",
]

HALF_LIVES: tuple[float | None, ...] = (None, 2.0, 5.0, 10.0, 20.0, 50.0)
# People scored per candidate half-life: enough for a stable choice, cheap on big data.
_MAX_PEOPLE = 2_000


def check_half_life(value: Any) -> None:
    if value is None or value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidInput(f"recency_half_life must be positive, None or 'auto', got "
                           f"{value!r}", field="recency_half_life")


def choose_half_life(model: Recommender, data: Interactions, *, k: int = 10,
                     fraction: float = 0.2, seed: int = 0) -> tuple[float | None, dict[str, float]]:
    """The half-life that ranks each person's latest items best for a copy of ``model``
    fitted on the rest, and the validation NDCG@k of every candidate (``"none"`` for no
    fading). ``(None, {})`` without timestamps or people to hold out."""
    from tailored.recommend.hybrid import carve_validation, validation_ndcg

    if data.last_seen is None:
        return None, {}
    carved = carve_validation(data, fraction, seed, latest=True)
    if carved is None:
        return None, {}
    train, held = carved
    users = np.flatnonzero(np.diff(held.indptr) > 0)
    if len(users) > _MAX_PEOPLE:
        users = np.sort(np.random.default_rng(seed).choice(users, _MAX_PEOPLE, replace=False))
    probe = type(model)(**{**model.get_params(), "recency_half_life": None}).fit(train)
    scores: dict[str, float] = {}
    best: tuple[float, float | None] = (-1.0, None)
    x = train.matrix.tocsr()
    for half_life in HALF_LIVES:
        probe.recency_half_life = half_life  # type: ignore[attr-defined]
        rows = np.vstack([probe._scores(x[u], str(train.user_ids[u])) for u in users])
        ndcg = validation_ndcg(rows, train, held, users, k)
        scores["none" if half_life is None else f"{half_life:g}"] = round(ndcg, 6)
        if ndcg > best[0] + 1e-9:
            best = (ndcg, half_life)
    return best[1], scores


class RecencyChosen:
    """For models with a ``recency_half_life`` hyperparameter that may be ``"auto"``."""

    recency_half_life: float | str | None
    recency_half_life_: float | None = None
    recency_validation_: dict[str, float] | None = None

    def half_life(self) -> float | None:
        """The half-life scoring uses: the hyperparameter, or the one validation chose."""
        if self.recency_half_life == "auto":
            return self.recency_half_life_
        return None if self.recency_half_life is None else float(self.recency_half_life)

    def _choose_recency(self, data: Interactions) -> None:
        self.recency_half_life_, self.recency_validation_ = None, None
        if self.recency_half_life == "auto":
            chosen, scores = choose_half_life(self, data)  # type: ignore[arg-type]
            self.recency_half_life_, self.recency_validation_ = chosen, scores or None

    def choice(self) -> dict[str, Any] | None:
        if self.recency_half_life != "auto":
            return None
        return {"recency_half_life": self.recency_half_life_,
                "recency_validation_ndcg": self.recency_validation_}


def recency_state(model: RecencyChosen) -> dict[str, np.ndarray]:
    chosen = model.recency_half_life_
    return {"recency_half_life": np.array(np.nan if chosen is None else chosen)}


def restore_recency(model: RecencyChosen, state: dict[str, np.ndarray]) -> None:
    value = float(state["recency_half_life"]) if "recency_half_life" in state else float("nan")
    model.recency_half_life_ = None if np.isnan(value) else value
    model.recency_validation_ = None
