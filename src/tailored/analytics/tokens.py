"""Words of a text, English or Chinese, with or without stop words.

English text is lower-cased and split on word characters; Chinese text (any text with a CJK
ideograph) is segmented by jieba. Stop words: scikit-learn's English list and the Stopwords
ISO Chinese list shipped beside this module (``stopwords_zh.txt``, its source in its header).
"""

from __future__ import annotations

import html
import logging
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

from tailored.errors import InvalidInput
from tailored.extras import require

__all__ = ["LANGUAGES", "check_language", "filter_words", "known_word", "language_of",
           "load_user_dictionary", "plain_text", "segment", "stop_words", "words"]

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


def known_word(word: str) -> bool:
    """Whether jieba's dictionary (with any user dictionary loaded) has ``word``."""
    return bool(_jieba().dt.FREQ.get(word))  # type: ignore[attr-defined]


def load_user_dictionary(path: str | Path) -> int:
    """Add the words of a jieba user dictionary (one a line: ``word [frequency] [tag]``) so
    jieba keeps them whole; returns how many. They hold for the rest of the process."""
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(f"no user dictionary at {file}", field="user_dict")
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                           field="user_dict") from None
    jieba = _jieba()
    added = 0
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        freq = None
        if len(parts) > 1:
            if not parts[1].isdigit():
                raise InvalidInput(f"{file} line {n}: the frequency after the word must be a "
                                   f"whole number, got {parts[1]!r}", field="user_dict")
            freq = int(parts[1])
        jieba.add_word(parts[0].lower(), freq, parts[2] if len(parts) > 2 else None)  # type: ignore[attr-defined]
        added += 1
    return added


def plain_text(text: str) -> str:
    """``text`` with HTML character references (``&hellip;``, ``&#183;``, even a doubly
    escaped ``&amp;quot;``) turned into the characters they stand for."""
    for _ in range(3):
        if "&" not in text:
            break
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def segment(text: str, language: str) -> list[str]:
    """Every token of ``text`` in order (lower-cased, HTML references undone), punctuation
    included for Chinese: jieba's cut for ``"zh"``, runs of letters and digits for ``"en"``."""
    lowered = plain_text(text).lower()
    if language == "zh":
        return _jieba().lcut(lowered)  # type: ignore[attr-defined]
    return _EN_WORD.findall(lowered)


def filter_words(tokens: list[str], language: str, *, stop: bool = True) -> list[str]:
    """The words among ``tokens`` (from :func:`segment`): no punctuation, numbers, one-letter
    English leftovers or (with ``stop``) stop words."""
    if language == "zh":
        kept = [w for w in tokens if _HAS_LETTER.search(w)]
    else:
        kept = [w for w in tokens if len(w) > 1 and _HAS_LETTER.search(w)]
    if not stop:
        return kept
    drop = stop_words(language)
    return [t for t in kept if t not in drop]


def words(text: str, *, language: str = "auto", stop: bool = True) -> list[str]:
    """The lower-cased words of ``text``, in order, without punctuation, numbers or (with
    ``stop``) stop words; HTML character references are undone first. ``language``:
    ``"auto"`` (Chinese if it has a Chinese character), ``"en"`` or ``"zh"``."""
    check_language(language)
    lang = language_of(text) if language == "auto" else language
    return filter_words(segment(text, lang), lang, stop=stop)
