"""Errors of predicted ratings: RMSE and MAE, where a model predicts explicit ratings.

As Microsoft Recommenders' ``rmse`` and ``mae``, which join truth and prediction on (user,
item) first; here the caller passes the two arrays already aligned, row for row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["mae", "rmse"]


def _aligned(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    true, pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if true.shape != pred.shape or true.ndim != 1:
        raise InvalidInput(f"y_true and y_pred must be 1-d and alike, not of shapes "
                           f"{true.shape} and {pred.shape}", field="y_pred")
    if not len(true):
        raise InvalidInput("nothing to evaluate: no ratings", field="y_true")
    return true, pred


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error of predicted ratings, aligned with the true ones.

    Examples
    --------
    >>> rmse([4, 3, 5], [3, 3, 3])  # sqrt((1 + 0 + 4) / 3)
    1.2909944487358056
    """
    true, pred = _aligned(y_true, y_pred)
    return float(np.sqrt(np.mean((true - pred) ** 2)))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error of predicted ratings, aligned with the true ones.

    Examples
    --------
    >>> mae([4, 3, 5], [3, 3, 3])  # (1 + 0 + 2) / 3
    1.0
    """
    true, pred = _aligned(y_true, y_pred)
    return float(np.mean(np.abs(true - pred)))
