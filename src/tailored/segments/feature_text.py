"""Customer features in words: what a column means, and a range of it as a reader says it.

Used wherever a model explains itself — tree rules, logistic coefficients, cluster
portraits — so ``order_recency_days ≤ 9.684`` reads "last ordered at most 9.7 days ago".
"""

from __future__ import annotations

import math

__all__ = ["feature_label", "range_text"]

# name: (a phrase with {} where the range goes, how values read, a short label)
_FEATURES: dict[str, tuple[str, str, str]] = {
    "recency_days": ("last seen {} days ago", "days", "days since last seen"),
    "order_recency_days": ("last ordered {} days ago", "days", "days since the last order"),
    "tenure_days": ("known for {} days", "days", "days known"),
    "orders": ("{} orders", "count", "orders"),
    "purchase_days": ("bought on {} days", "count", "days with a purchase"),
    "revenue": ("spent {}", "money", "spend"),
    "avg_order_value": ("orders worth {} on average", "money", "average order value"),
    "events": ("{} events", "count", "events"),
    "views": ("{} product views", "count", "product views"),
    "carts": ("{} cart adds", "count", "cart adds"),
    "distinct_items": ("{} distinct items", "count", "distinct items"),
    "active_days": ("active on {} days", "count", "active days"),
    "sale_share": ("{} of their interest in sale items", "share",
                   "share of interest in sale items"),
    "price_index": ("looks at items priced {}× their category's median", "number",
                    "price index (1 = the category's median)"),
    "category_focus": ("interest focus {} (1 = a single category)", "number",
                       "category focus (1 = a single category)"),
}


def _category(name: str) -> str:
    return name.removeprefix("share_").replace("_", " ").title()


def _spec(name: str) -> tuple[str, str, str]:
    if name in _FEATURES:
        return _FEATURES[name]
    if name.startswith("share_"):
        category = _category(name)
        return (f"{{}} of their interest in {category}", "share",
                f"share of interest in {category}")
    label = name.replace("_", " ")
    return (f"{label} {{}}", "number", label)


def feature_label(name: str) -> str:
    """A short readable name of the feature column ``name`` ("days since the last order")."""
    return _spec(name)[2]


def _value(x: float, kind: str) -> str:
    if kind == "share":
        return f"{x:.0%}"
    if kind == "money":
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    if kind == "days":
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"
    return f"{x:,.3g}"


def range_text(name: str, low: float, high: float) -> str:
    """``low < name ≤ high`` in words (either bound may be infinite), as a tree path reads:
    "last ordered 2.3 to 9.7 days ago", "at least 3 orders", "spent more than 138"."""
    phrase, kind, _ = _spec(name)
    has_low, has_high = math.isfinite(low), math.isfinite(high)
    if kind == "count":  # whole numbers: "> 2.5" is "at least 3", "≤ 2.5" is "at most 2"
        lo = math.floor(low) + 1 if has_low else None
        hi = math.floor(high) if has_high else None
        if lo is not None and hi is not None:
            words = f"exactly {lo:,}" if lo == hi else f"{lo:,} to {hi:,}"
        elif lo is not None:
            words = f"at least {lo:,}"
        elif hi is not None:
            words = f"at most {hi:,}" if hi > 0 else "no"
        else:
            words = "any number of"
        return phrase.format(words)
    if has_low and has_high:
        words = f"{_value(low, kind)} to {_value(high, kind)}"
    elif has_low:
        words = f"more than {_value(low, kind)}"
    elif has_high:
        words = f"at most {_value(high, kind)}"
    else:
        words = "any"
    return phrase.format(words)
