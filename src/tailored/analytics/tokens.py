"""Words of a text, English or Chinese, with or without stop words.

English text is lower-cased and split on word characters; Chinese text (any text with a CJK
ideograph) is segmented by jieba. Stop words: scikit-learn's English list and the Stopwords
ISO Chinese list shipped beside this module (``stopwords_zh.txt``, its source in its header).
"""

from __future__ import annotations

import logging
import re
from functools import cache
from importlib.resources import files

from tailored.errors import InvalidInput
from tailored.extras import require

__all__ = ["LANGUAGES", "check_language", "language_of", "stop_words", "words"]

LANGUAGES = ("auto", "en", "zh")

# CJK Unified Ideographs, Extension A and Compatibility Ideographs: what marks Chinese text.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A word: letters or digits; apostrophes split it ("it's" → "it", "s"), and one-letter
# leftovers are dropped, so contractions fall to the stop words.
_EN_WORD = re.compile(r"[^\W_]+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
# What is left of English contractions once the apostrophe splits them ("don't" → "don").
_CONTRACTED = frozenset({"aren", "couldn", "didn", "doesn", "don", "hadn", "hasn", "haven",
                         "isn", "ll", "re", "shouldn", "ve", "wasn", "weren", "won", "wouldn"})


def check_language(language: str) -> str:
    """``language`` if it is one of :data:`LANGUAGES`, else a clear error."""
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}",
                           field="language")
    return language


def language_of(text: str) -> str:
    """``"zh"`` for text with a Chinese character in it, else ``"en"``."""
    return "zh" if _CJK.search(text) else "en"


@cache
def _zh_stop_words() -> frozenset[str]:
    raw = files("tailored.analytics").joinpath("stopwords_zh.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in raw.splitlines() if w.strip() and not w.startswith("#"))


@cache
def _en_stop_words() -> frozenset[str]:
    # Imported here: scikit-learn takes seconds to import, and every CLI start would pay.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | _CONTRACTED


def stop_words(language: str) -> frozenset[str]:
    """The stop words of ``"en"`` or ``"zh"`` (for ``"zh"`` the English ones too, since
    Chinese reviews mix in English words)."""
    if language == "en":
        return _en_stop_words()
    if language == "zh":
        return _zh_stop_words() | _en_stop_words()
    raise InvalidInput(f"stop words exist for en and zh, not {language!r}", field="language")


@cache
def _jieba() -> object:
    # Loads its dictionary (shipped in the package) on first use: ~1 s.
    jieba = require("jieba", "zh")

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _segment(text: str) -> list[str]:
    jieba = _jieba()
    return [w for w in jieba.lcut(text) if _HAS_LETTER.search(w)]  # type: ignore[attr-defined]


def words(text: str, *, language: str = "auto", stop: bool = True) -> list[str]:
    """The lower-cased words of ``text``, in order, without punctuation, numbers or (with
    ``stop``) stop words. ``language``: ``"auto"`` (Chinese if it has a Chinese character),
    ``"en"`` or ``"zh"``."""
    check_language(language)
    lang = language_of(text) if language == "auto" else language
    lowered = text.lower()
    tokens = _segment(lowered) if lang == "zh" else [
        w for w in _EN_WORD.findall(lowered) if len(w) > 1 and _HAS_LETTER.search(w)]
    if not stop:
        return tokens
    drop = stop_words(lang)
    return [t for t in tokens if t not in drop]
