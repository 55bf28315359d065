"""The Alembic migrations create exactly the schema the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tailored.store import Store
from tailored.store.migrate import current_revision, head_revision
from tailored.store.tables import metadata


def test_migrated_schema_matches_the_declared_tables(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        store.close()


def test_opening_twice_is_harmless(store_url: str) -> None:
    Store.open(store_url).close()
    Store.open(store_url).close()
