"""Analytics: behaviour, demographics, text and needs, written once as Ibis expressions that
run on DuckDB over a snapshot or on PostgreSQL."""

from tailored.analytics.source import BACKENDS, Source, open_postgres, open_snapshot, opened, trait

__all__ = ["BACKENDS", "Source", "open_postgres", "open_snapshot", "opened", "trait"]
