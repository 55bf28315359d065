"""Analytics: behaviour, demographics, text and needs, written once as Ibis expressions that
run on DuckDB over a snapshot or on PostgreSQL."""

from typing import TYPE_CHECKING

from tailored.analytics.features import (
    FEATURE_COLUMNS,
    category_shares,
    customer_features,
    resolve_as_of,
)
from tailored.analytics.keywords import count_words, group_keywords, keywords, word_frequency
from tailored.analytics.sentiment_scores import review_sentiment, score_texts
from tailored.analytics.sentiment_training import (
    LabelledReviews,
    read_labelled_reviews,
    train_chinese_sentiment,
)
from tailored.analytics.source import BACKENDS, Source, open_postgres, open_snapshot, opened, trait
from tailored.analytics.text import grouped_texts, texts
from tailored.analytics.tokens import language_of, stop_words, words

__all__ = [
    "BACKENDS",
    "FEATURE_COLUMNS",
    "ChineseSentiment",
    "LabelledReviews",
    "Source",
    "category_shares",
    "count_words",
    "customer_features",
    "group_keywords",
    "grouped_texts",
    "keywords",
    "language_of",
    "open_postgres",
    "open_snapshot",
    "opened",
    "read_labelled_reviews",
    "resolve_as_of",
    "review_sentiment",
    "score_texts",
    "stop_words",
    "texts",
    "train_chinese_sentiment",
    "trait",
    "word_frequency",
    "words",
]

if TYPE_CHECKING:
    from tailored.analytics.sentiment import ChineseSentiment


def __getattr__(name: str) -> object:
    # The Chinese sentiment model is built on scikit-learn, which takes seconds to import:
    # loaded on first use, so that every command does not pay for it.
    if name == "ChineseSentiment":
        from tailored.analytics.sentiment import ChineseSentiment

        return ChineseSentiment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
