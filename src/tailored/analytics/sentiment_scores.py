"""Sentiment of what people wrote, text by text and summed up by item, category, segment and
over time.

Each text's language decides its scorer: a text with a Chinese character goes to the trained
:class:`~tailored.analytics.sentiment.ChineseSentiment` (score ``2·P(positive) − 1``; positive
when P ≥ 0.5 — the model is binary, so it has no neutral), any other to VADER (its compound
score; positive ≥ 0.05, negative ≤ −0.05, else neutral, VADER's own thresholds). Both scores
run from −1 to 1. VADER's lexicon ships inside the vaderSentiment package: nothing is
downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tailored.analytics.periods import check_period, period_start
from tailored.analytics.source import Source
from tailored.analytics.text import check_by, grouped_texts, has_segments, texts
from tailored.analytics.tokens import check_language, language_of
from tailored.errors import InvalidInput
from tailored.extras import require

if TYPE_CHECKING:
    from tailored.analytics.sentiment import ChineseSentiment

__all__ = ["review_sentiment", "score_texts"]

_OPINION_KINDS = ("review", "feedback")


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _missing_model(n: int) -> InvalidInput:
    require("jieba", "zh")  # without it, the extra is what to install first
    return InvalidInput(f"{n} Chinese text(s) need the Chinese sentiment model, which is not "
                        "trained yet for this store: run `tailored analyze sentiment-train` "
                        "(it reads chinese-reviews/online_shopping_10_cats.csv.gz under "
                        "TAILORED_DATASETS, or --data PATH)", field="model")


def score_texts(corpus: Sequence[str], *, model: ChineseSentiment | None = None,
                language: str = "auto") -> pd.DataFrame:
    """One row per text: ``language`` (en or zh), ``score`` (−1 to 1) and ``label``
    (positive, neutral or negative). ``model`` scores Chinese text; without it, Chinese
    text is an error saying how to train it."""
    check_language(language)
    langs = [language_of(t) if language == "auto" else language for t in corpus]
    scores = np.zeros(len(langs))
    labels = np.empty(len(langs), dtype=object)
    zh = [i for i, lang in enumerate(langs) if lang == "zh"]
    if zh:
        if model is None:
            raise _missing_model(len(zh))
        p = model.predict_proba([corpus[i] for i in zh])[:, 1]
        scores[zh] = 2.0 * p - 1.0
        labels[zh] = np.where(p >= 0.5, "positive", "negative")
    vader = _vader()
    for i, lang in enumerate(langs):
        if lang == "en":
            s = vader.polarity_scores(corpus[i])["compound"]
            scores[i] = s
            labels[i] = "positive" if s >= 0.05 else "negative" if s <= -0.05 else "neutral"
    return pd.DataFrame({"language": langs, "score": scores, "label": labels})


def _summary(part: pd.DataFrame) -> dict[str, Any]:
    n = len(part)
    shares = part["label"].value_counts() / n
    ratings = part["rating"].dropna()
    return {"texts": n, "mean_score": round(float(part["score"].mean()), 4),
            "positive": round(float(shares.get("positive", 0.0)), 4),
            "neutral": round(float(shares.get("neutral", 0.0)), 4),
            "negative": round(float(shares.get("negative", 0.0)), 4),
            "mean_rating": round(float(ratings.mean()), 3) if len(ratings) else None}


def _by_group(scored: pd.DataFrame, groups: pd.DataFrame, top: int) -> dict[str, Any]:
    joined = groups.merge(scored, on="message_id")
    summaries = [(str(g), _summary(part)) for g, part in joined.groupby("group", sort=True)]
    summaries.sort(key=lambda gs: (-gs[1]["texts"], gs[0]))  # busiest first
    return {"groups": len(summaries), "top": dict(summaries[:top])}


def review_sentiment(source: Source, *, model: ChineseSentiment | None = None,
                     kinds: Sequence[str] = _OPINION_KINDS, by: Sequence[str] | None = None,
                     period: str = "month", language: str = "auto", top: int = 20
                     ) -> dict[str, Any]:
    """Score every text of ``kinds`` (reviews and feedback) in ``source`` and sum the scores
    up overall, per language, per group of each of ``by`` (default: item, category, and
    segment when the snapshot has segments) and per ``period`` (day, week or month)."""
    check_language(language)
    check_period(period)
    if top < 1:
        raise InvalidInput(f"top must be at least 1, got {top}", field="top")
    if "item" in kinds:
        raise InvalidInput("item descriptions are not opinions: score review or feedback",
                           field="kinds")
    groupings = list(by) if by is not None else (
        ["item", "category"] + (["segment"] if has_segments(source) else []))
    for g in groupings:
        check_by(g)
    t = texts(source, kinds=kinds)
    rows = t.select("kind", "message_id", "text", "rating",
                    period=period_start(t.timestamp, period).cast("date")).execute()
    if rows.empty:
        raise InvalidInput(f"no texts of kind {', '.join(kinds)} in the data: nothing to score "
                           "(reviews are Product Reviewed events with a review_body)",
                           field="kinds")
    scored = pd.concat([rows.reset_index(drop=True),
                        score_texts(rows["text"].tolist(), model=model, language=language)],
                       axis=1)
    scored["rating"] = pd.to_numeric(scored["rating"], errors="coerce")
    scored["period"] = pd.to_datetime(scored["period"]).dt.strftime("%Y-%m-%d")
    rated = scored.dropna(subset=["rating"])
    # How far the text's mood agrees with the stars its writer gave (Spearman's rank
    # correlation): a check of the scorers on the shop's own reviews.
    agreement = (round(float(rated["score"].corr(rated["rating"], method="spearman")), 4)
                 if len(rated) > 2 and rated["rating"].nunique() > 1 else None)
    out: dict[str, Any] = {
        "kinds": list(kinds), "overall": _summary(scored),
        "score_rating_correlation": agreement, "rated_texts": len(rated),
        "by_language": {lang: _summary(part) for lang, part in
                        scored.groupby("language", sort=True)},
        "by_kind": {k: _summary(part) for k, part in scored.groupby("kind", sort=True)},
    }
    for g in groupings:
        groups = grouped_texts(source, by=g, kinds=kinds).select("message_id", "group").execute()
        out[f"by_{g}"] = _by_group(scored, groups, top)
    out["over_time"] = {"period": period, "series": [
        {"period": p, **_summary(part)} for p, part in scored.groupby("period", sort=True)]}
    return out
