"""A labelled corpus of Chinese reviews in the demo shop's own words (``reviews-zh.csv``:
``label`` 1 positive or 0 negative, ``review``), so the quickstart can train the Chinese
sentiment model that the demo's Chinese reviews need in a few seconds. A real shop trains
on a public corpus or its own rated reviews instead (docs/text-analytics.md).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from tailored.demo.vocab import REVIEWS_ZH, SUBCATEGORIES

__all__ = ["REVIEWS_FILE", "labelled_reviews", "write_labelled_reviews"]

REVIEWS_FILE = "reviews-zh.csv"
_POSITIVE, _NEGATIVE = (4, 5), (1, 2)  # star ratings; 3 is neither and left out


def labelled_reviews(seed: int, n: int = 2_000) -> list[tuple[int, str]]:
    """``n`` (label, review) pairs, seeded: a rating's phrase, alone, about a product, or
    joined with another phrase of the same mood — half positive, half negative."""
    rng = random.Random(f"reviews-zh-{seed}")  # a stream of its own: the shop stays the same
    nouns = [sub[3] for sub in SUBCATEGORIES]
    rows = []
    for i in range(n):
        label = i % 2
        ratings = _POSITIVE if label else _NEGATIVE
        phrase = rng.choice(REVIEWS_ZH[rng.choice(ratings) - 1])
        form = rng.random()
        if form < 0.4:
            text = phrase
        elif form < 0.7:
            text = f"{rng.choice(('这个', '这款', '买的', ''))}{rng.choice(nouns)}，{phrase}"
        else:
            text = phrase + rng.choice(REVIEWS_ZH[rng.choice(ratings) - 1])
        rows.append((label, text))
    rng.shuffle(rows)
    return rows


def write_labelled_reviews(folder: Path, seed: int, n: int = 2_000) -> Path:
    """Write :func:`labelled_reviews` as ``folder``/reviews-zh.csv; returns its path."""
    path = Path(folder) / REVIEWS_FILE
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("label", "review"))
        writer.writerows(labelled_reviews(seed, n))
    return path
