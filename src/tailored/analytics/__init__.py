"""Analytics: behaviour, demographics, text and needs, written once as Ibis expressions that
run on DuckDB over a snapshot or on PostgreSQL."""

from typing import TYPE_CHECKING

from tailored.analytics.behaviour import VIEW_KINDS, category_of, people, views
from tailored.analytics.cohorts import ACTIVITIES, activity, retention
from tailored.analytics.customers import (
    CUSTOMER_RULE,
    Customers,
    identified_profiles,
    keep_customers,
    keep_customers_frame,
)
from tailored.analytics.demographics import crosstab, distribution
from tailored.analytics.features import (
    FEATURE_COLUMNS,
    category_shares,
    customer_features,
    price_profile,
    resolve_as_of,
)
from tailored.analytics.funnels import DEFAULT_STEPS, FUNNEL_BY, device_of, event_names, funnel
from tailored.analytics.groups import AGE_BANDS, age_band, profile_groups, trait_keys, trait_values
from tailored.analytics.keywords import count_words, group_keywords, keywords, word_frequency
from tailored.analytics.loyalty import repeat_purchases
from tailored.analytics.needs import NEED_KINDS, SIGNAL_WEIGHTS, favourites, price_ranges
from tailored.analytics.orders import orders
from tailored.analytics.periods import PERIODS, check_period, period_index, period_start
from tailored.analytics.satisfaction import SURVEY_KINDS, csat, nps, ratings, survey_answers
from tailored.analytics.sentiment_scores import review_sentiment, score_texts
from tailored.analytics.sentiment_training import (
    LabelledReviews,
    read_labelled_reviews,
    train_chinese_sentiment,
)
from tailored.analytics.sessions import DEFAULT_GAP_MINUTES, session_summary, sessions
from tailored.analytics.source import BACKENDS, Source, open_postgres, open_snapshot, opened, trait
from tailored.analytics.text import grouped_texts, texts
from tailored.analytics.timeseries import METRICS, MIN_FIT_PERIODS, forecast, series, timeseries
from tailored.analytics.tokens import language_of, stop_words, words

__all__ = [
    "ACTIVITIES",
    "AGE_BANDS",
    "BACKENDS",
    "CUSTOMER_RULE",
    "DEFAULT_GAP_MINUTES",
    "DEFAULT_STEPS",
    "FEATURE_COLUMNS",
    "FUNNEL_BY",
    "METRICS",
    "MIN_FIT_PERIODS",
    "NEED_KINDS",
    "PERIODS",
    "SIGNAL_WEIGHTS",
    "SURVEY_KINDS",
    "VIEW_KINDS",
    "ChineseSentiment",
    "Customers",
    "LabelledReviews",
    "Source",
    "activity",
    "age_band",
    "category_of",
    "category_shares",
    "check_period",
    "count_words",
    "crosstab",
    "csat",
    "customer_features",
    "device_of",
    "distribution",
    "event_names",
    "favourites",
    "forecast",
    "funnel",
    "group_keywords",
    "grouped_texts",
    "identified_profiles",
    "keep_customers",
    "keep_customers_frame",
    "keywords",
    "language_of",
    "nps",
    "open_postgres",
    "open_snapshot",
    "opened",
    "orders",
    "people",
    "period_index",
    "period_start",
    "price_profile",
    "price_ranges",
    "profile_groups",
    "ratings",
    "read_labelled_reviews",
    "repeat_purchases",
    "resolve_as_of",
    "retention",
    "review_sentiment",
    "score_texts",
    "series",
    "session_summary",
    "sessions",
    "stop_words",
    "survey_answers",
    "texts",
    "timeseries",
    "train_chinese_sentiment",
    "trait",
    "trait_keys",
    "trait_values",
    "views",
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
