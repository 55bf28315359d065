"""Analytics: behaviour, demographics, text and needs, written once as Ibis expressions that
run on DuckDB over a snapshot or on PostgreSQL."""

from tailored.analytics.features import (
    FEATURE_COLUMNS,
    category_shares,
    customer_features,
    resolve_as_of,
)
from tailored.analytics.source import BACKENDS, Source, open_postgres, open_snapshot, opened, trait

__all__ = [
    "BACKENDS",
    "FEATURE_COLUMNS",
    "Source",
    "category_shares",
    "customer_features",
    "open_postgres",
    "open_snapshot",
    "opened",
    "resolve_as_of",
    "trait",
]
