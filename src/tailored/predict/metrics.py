"""How good a score is: classification, ranking and calibration, as one dictionary."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["lift_at", "reliability", "score_metrics"]


def lift_at(y: np.ndarray, scores: np.ndarray, fraction: float = 0.1) -> float:
    """Positive rate among the top ``fraction`` by score over the overall positive rate."""
    base = float(np.mean(y))
    if base == 0:
        return float("nan")
    top = max(1, round(len(y) * fraction))
    # A stable sort keeps ties in input order, so the measure does not depend on luck.
    order = np.argsort(-scores, kind="stable")[:top]
    return float(np.mean(y[order])) / base


def reliability(y: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Mean predicted probability beside the observed rate, in equal-width bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "count": int(mask.sum()),
                        "predicted": round(float(scores[mask].mean()), 4),
                        "observed": round(float(y[mask].mean()), 4)})
    return out


def score_metrics(y: np.ndarray, scores: np.ndarray, *, threshold: float = 0.5
                  ) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 at ``threshold``; ROC AUC, PR AUC, Brier score,
    lift in the top decile and reliability bins."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        brier_score_loss,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    predicted = (scores >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "precision": round(float(precision_score(y, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(y, predicted, zero_division=0)), 4),
        "f1": round(float(f1_score(y, predicted, zero_division=0)), 4),
        "roc_auc": round(float(roc_auc_score(y, scores)), 4) if both else None,
        "pr_auc": round(float(average_precision_score(y, scores)), 4) if both else None,
        "brier": round(float(brier_score_loss(y, scores)), 4),
        "lift_top_decile": round(lift_at(y, scores), 3),
        "reliability": reliability(y, scores),
    }
