"""Word frequency and TF-IDF keywords of what people wrote, overall and per group.

Counting and weighting happen in process on the texts the Ibis query of
:mod:`tailored.analytics.text` returns (selection, joins to items, segments and traits run on
the engine): tokenising Chinese with jieba has no SQL equivalent on either engine.

Keywords of a group are the words with the highest TF-IDF weight when each group's texts
together make one document: words frequent in the group and rare in the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tailored.analytics.source import Source
from tailored.analytics.split_words import SplitWords
from tailored.analytics.text import DEFAULT_KINDS, grouped_texts, texts
from tailored.analytics.tokens import check_language, filter_words, language_of, segment
from tailored.errors import InvalidInput

__all__ = ["count_words", "group_keywords", "keywords", "word_frequency"]


def _top(value: int, field: str = "top") -> int:
    if value < 1:
        raise InvalidInput(f"{field} must be at least 1, got {value}", field=field)
    return value


def _words(text: str, language: str, split: SplitWords, langs: Counter[str] | None = None
           ) -> list[str]:
    """The words of one text (as :func:`~tailored.analytics.tokens.words`), its Chinese
    tokens fed to ``split`` on the way."""
    lang = language_of(text) if language == "auto" else language
    if langs is not None:
        langs[lang] += 1
    tokens = segment(text, lang)
    if lang == "zh":
        split.add(tokens)
    return filter_words(tokens, lang)


def count_words(corpus: Iterable[str], *, language: str = "auto", top: int = 20
                ) -> dict[str, Any]:
    """The ``top`` most frequent words of ``corpus`` without stop words: ``{"texts",
    "languages": {"en": n, "zh": n}, "words": total, "distinct": n, "top": [{"word",
    "count", "share"}], "split_words": [...]}`` (ties in alphabetical order);
    ``split_words`` as :meth:`SplitWords.report`: words jieba probably cut apart."""
    check_language(language)
    _top(top)
    counts: Counter[str] = Counter()
    langs: Counter[str] = Counter()
    split = SplitWords()
    n = 0
    for text in corpus:
        n += 1
        counts.update(_words(text, language, split, langs))
    if n == 0:
        raise InvalidInput("no texts to count words in", field="texts")
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"texts": n, "languages": dict(sorted(langs.items())), "words": total,
            "distinct": len(counts),
            "top": [{"word": w, "count": c, "share": round(c / total, 4)} for w, c in ranked],
            "split_words": split.report()}


def group_keywords(groups: Mapping[str, Sequence[str]], *, language: str = "auto",
                   top: int = 10, split: SplitWords | None = None
                   ) -> dict[str, list[dict[str, Any]]]:
    """The ``top`` TF-IDF keywords of each group of texts: ``{group: [{"word", "weight",
    "count"}]}``. Each group's texts make one document; weights are sublinear-TF × smooth
    IDF, L2-normalised per group, so they compare within a group. ``split``, if given,
    collects the words jieba probably cut apart."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # slow to import: on use

    check_language(language)
    _top(top)
    if not groups:
        raise InvalidInput("no texts to find keywords in", field="texts")
    names = list(groups)
    split = split if split is not None else SplitWords()
    docs = [[w for t in groups[g] for w in _words(t, language, split)] for g in names]
    if not any(docs):
        raise InvalidInput("the texts have no words left once stop words are removed",
                           field="texts")
    vec = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True)
    weights = vec.fit_transform(docs).tocsr()
    vocab = vec.get_feature_names_out()
    out: dict[str, list[dict[str, Any]]] = {}
    for row, (name, doc) in enumerate(zip(names, docs, strict=True)):
        start, end = weights.indptr[row], weights.indptr[row + 1]
        cols, vals = weights.indices[start:end], weights.data[start:end]
        # Highest weight first; ties alphabetically, so results are stable.
        order = np.lexsort((vocab[cols], -vals))[:top]
        counts = Counter(doc)
        out[name] = [{"word": str(vocab[cols[i]]), "weight": round(float(vals[i]), 4),
                      "count": counts[str(vocab[cols[i]])]} for i in order]
    return out


def _no_texts(kinds: Sequence[str]) -> InvalidInput:
    return InvalidInput(f"no texts of kind {', '.join(kinds)} in the data (reviews are "
                        "Product Reviewed events with review_body; searches Products "
                        "Searched with query)", field="kinds")


def word_frequency(source: Source, *, kinds: Sequence[str] = DEFAULT_KINDS,
                   language: str = "auto", top: int = 20) -> dict[str, Any]:
    """:func:`count_words` over the texts of ``kinds`` in ``source``, overall and per kind."""
    check_language(language)
    _top(top)
    rows = texts(source, kinds=kinds).select("kind", "text").execute()
    if rows.empty:
        raise _no_texts(kinds)
    by_kind = {k: count_words(part["text"], language=language, top=top)
               for k, part in rows.groupby("kind", sort=True)}
    return {"kinds": list(kinds), "language": language,
            **count_words(rows["text"], language=language, top=top), "by_kind": by_kind}


def keywords(source: Source, *, by: str = "item",
             kinds: Sequence[str] = DEFAULT_KINDS, language: str = "auto",
             top: int = 10, min_texts: int = 1) -> dict[str, Any]:
    """:func:`group_keywords` of the texts of ``kinds`` in ``source`` grouped ``by`` item,
    category, segment or ``trait:KEY`` (groups with fewer than ``min_texts`` texts are
    left out)."""
    check_language(language)
    _top(top)
    _top(min_texts, "min_texts")
    rows = grouped_texts(source, by=by, kinds=kinds).select("group", "text").execute()
    if rows.empty:
        if texts(source, kinds=kinds).count().execute() == 0:
            raise _no_texts(kinds)
        raise InvalidInput(f"no text of kind {', '.join(kinds)} belongs to any {by} group "
                           "(texts without an item, items without a category, people "
                           "without that trait or segment)", field="by")
    groups = {str(g): part["text"].tolist() for g, part in rows.groupby("group", sort=True)
              if len(part) >= min_texts}
    if not groups:
        raise InvalidInput(f"no group has {min_texts} texts or more", field="min_texts")
    split = SplitWords()
    found = group_keywords(groups, language=language, top=top, split=split)
    return {"by": by, "kinds": list(kinds), "language": language, "groups": len(found),
            "texts": int(sum(len(v) for v in groups.values())),
            "keywords": {g: {"texts": len(groups[g]), "keywords": kw}
                         for g, kw in found.items()},
            "split_words": split.report()}
