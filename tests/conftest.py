"""Shared fixtures: a store on each real backend, and the shared data sets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tailored.store import Store
from tailored.store.engine import normalise_url
from tailored.store.tables import metadata


def _datasets() -> Path:
    """TAILORED_DATASETS, else ../shared/datasets beside this checkout, else the machine's
    shared copy (so a clone anywhere, as CI makes, still runs the real-data tests)."""
    if "TAILORED_DATASETS" in os.environ:
        return Path(os.environ["TAILORED_DATASETS"])
    beside = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    machine = Path("/work/shared/datasets")
    return beside if beside.exists() or not machine.exists() else machine


DATASETS = _datasets()
POSTGRES_ADMIN_URL = os.environ.get(
    "TAILORED_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def dataset(*parts: str) -> Path:
    """A path in the shared data sets; the test is skipped, saying so, when it is absent."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"data set not found: {path} (set TAILORED_DATASETS to its folder)")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin_url = normalise_url(POSTGRES_ADMIN_URL)
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT",
                                 connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is needed in CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    name = f"tailored_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty, migrated store on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    Store.open(url).close()  # migrate once; later opens find the schema current
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        # The migration seeds this counter; without it no process sees others' graph writes.
        conn.exec_driver_sql("INSERT INTO counters (name, value) VALUES ('identity_graph', 0)")
    engine.dispose()
    yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        yield s
    finally:
        s.close()
