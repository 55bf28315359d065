"""Words jieba probably cut apart: names and new words missing from its dictionary.

jieba splits a word it does not know into known pieces (杜拉拉 → 杜 + 拉拉, 吐槽 → 吐 + 槽).
Such a word shows as two adjacent Chinese tokens, one of them a single character, that
almost always come together: most occurrences of each piece are in the pair. Those pairs
(not in jieba's dictionary, seen at least ``min_count`` times) are reported so the user can
list them in a user dictionary (``--user-dict``) and count them as one word.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from typing import Any

from tailored.analytics.tokens import known_word

__all__ = ["SplitWords"]

_CJK_ONLY = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")


class SplitWords:
    """Counts adjacent Chinese tokens as texts go by; :meth:`report` names the likely
    split words."""

    def __init__(self, *, min_count: int = 5, cohesion: float = 0.5) -> None:
        self.min_count = min_count
        self.cohesion = cohesion
        self._single: Counter[str] = Counter()
        self._pairs: Counter[tuple[str, str]] = Counter()

    def add(self, tokens: list[str]) -> None:
        """The tokens of one Chinese text, as jieba cut them (punctuation included, so
        pairs never straddle it)."""
        self._single.update(tokens)
        for a, b in pairwise(tokens):
            if (len(a) == 1 or len(b) == 1) and _CJK_ONLY.match(a) and _CJK_ONLY.match(b):
                self._pairs[(a, b)] += 1

    def report(self, top: int = 10) -> list[dict[str, Any]]:
        """Up to ``top`` likely split words, the most frequent first: ``{"word", "parts",
        "count"}``."""
        if not self._pairs:
            return []
        found: list[dict[str, Any]] = []
        for (a, b), n in self._pairs.items():
            if n < self.min_count or known_word(a + b):
                continue
            if n >= self.cohesion * self._single[a] and n >= self.cohesion * self._single[b]:
                found.append({"word": a + b, "parts": [a, b], "count": n})
        found.sort(key=lambda f: (-f["count"], f["word"]))
        return found[:top]
