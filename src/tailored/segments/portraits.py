"""Portraits of clusters: what sets each apart from everyone, in words and numbers.

A feature sets a cluster apart when the cluster's mean is far from the overall mean in units
of the overall standard deviation (its z-score). The three furthest features (at least a
quarter of a standard deviation away) are described with the cluster's value, the overall
average and their ratio, e.g. "spends 3.2× the average (412 vs 129)".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["describe_clusters", "describe_feature"]

_TOP = 3
_MIN_Z = 0.25
_LABELS = {"events": "events", "views": "product views", "carts": "cart adds",
           "distinct_items": "distinct items", "active_days": "active days",
           "orders": "orders", "purchase_days": "days with a purchase"}


def _relative(mean: float, overall: float) -> str:
    """The cluster's value against the average in words: "3.2× the average", "40% of the
    average" (never "0.0×"), "about the average"."""
    if overall == 0:
        return "where the average is 0"
    ratio = mean / overall
    if ratio >= 1.05:
        return f"{ratio:,.1f}× the average"
    if ratio > 0.95:
        return "about the average"
    if ratio >= 0.005:
        return f"{ratio:.0%} of the average"
    return "under 1% of the average"


def describe_feature(name: str, mean: float, overall: float) -> str:
    """One feature of a cluster in words: its value beside the overall average."""
    if name.startswith("share_"):
        category = name.removeprefix("share_").replace("_", " ").title()
        return f"{mean:.0%} of their interest in {category} (average {overall:.0%})"
    if name == "price_index":
        return (f"looks at items priced {mean:.2f}× their category's median "
                f"(everyone: {overall:.2f}×)")
    if name == "category_focus":
        return (f"interest focused {mean:.2f} on one category (Herfindahl index; everyone: "
                f"{overall:.2f}, 1 = a single category)")
    if name == "sale_share":
        return f"{mean:.0%} of their interest in sale items (average {overall:.0%})"
    if name == "recency_days":
        return f"last seen {mean:.0f} days ago on average (everyone: {overall:.0f})"
    if name == "order_recency_days":
        return f"last ordered {mean:.0f} days ago (everyone: {overall:.0f})"
    if name == "tenure_days":
        return f"known for {mean:.0f} days (everyone: {overall:.0f})"
    if name == "revenue":
        if mean == 0:
            return f"spends nothing (average {overall:,.0f})"
        return f"spends {_relative(mean, overall)} ({mean:,.0f} vs {overall:,.0f})"
    if name == "avg_order_value":
        if mean == 0:
            return f"no orders of any value (average order {overall:,.0f})"
        return (f"orders worth {mean:,.0f} on average, {_relative(mean, overall)} "
                f"({overall:,.0f})")
    label = _LABELS.get(name, name.replace("_", " "))
    if mean == 0:
        return f"no {label} (average {overall:,.1f})"
    return f"{mean:,.1f} {label} each, {_relative(mean, overall)} ({overall:,.1f})"


def _cadence(part: pd.DataFrame) -> str | None:
    """How many have bought, how many more than once, and how often those repeat buyers
    order (days known per order: one purchase has no rhythm, so it gives none)."""
    if not {"tenure_days", "orders"} <= set(part.columns):
        return None
    buyers = part[part["orders"] > 0]
    if buyers.empty:
        return "none has bought yet"
    bought = f"{len(buyers) / len(part):.0%} have bought"
    repeat = buyers[buyers["orders"] >= 2]
    if repeat.empty:
        return f"{bought}, each once"
    every = float(repeat["tenure_days"].sum()) / float(repeat["orders"].sum())
    return (f"{bought}, {len(repeat) / len(part):.0%} more than once (about one order "
            f"every {every:.0f} days)")


def describe_clusters(frame: pd.DataFrame, labels: np.ndarray[Any, Any]) -> list[dict[str, Any]]:
    """A portrait of each cluster of ``frame`` (rows: customers, columns: raw features)."""
    overall = frame.mean()
    spread = frame.std(ddof=0).replace(0.0, np.nan)
    total = len(frame)
    portraits = []
    for cluster in sorted(set(int(c) for c in labels)):
        part = frame[labels == cluster]
        means = part.mean()
        z = ((means - overall) / spread).fillna(0.0)
        top = z.abs().sort_values(ascending=False, kind="stable")
        top = top[top >= _MIN_Z].index[:_TOP]
        traits = [{"feature": f, "mean": round(float(means[f]), 4),
                   "overall": round(float(overall[f]), 4),
                   "ratio": round(float(means[f] / overall[f]), 3) if overall[f] else None,
                   "z": round(float(z[f]), 3), "text": describe_feature(
                       f, float(means[f]), float(overall[f]))} for f in top]
        words = [t["text"] for t in traits]
        cadence = _cadence(part)
        if cadence:
            words.append(cadence)
        size = len(part)
        head = f"Cluster {cluster} ({size} customers, {size / total:.0%})"
        portraits.append({
            "cluster": cluster, "size": size, "share": round(size / total, 4),
            "distinct": traits, "means": {k: round(float(v), 4) for k, v in means.items()},
            "summary": f"{head}: " + ("; ".join(words) if words else "close to the average"),
        })
    return portraits
