"""The analytics source itself: a snapshot's tables on DuckDB and PostgreSQL, read alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tailored.analytics import Source, open_snapshot, opened, trait
from tailored.errors import InvalidInput
from tailored.store.snapshots import SNAPSHOT_TABLES


def rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def open_and_close(folder: Path, backend: str, **options: Any) -> None:
    with opened(folder, backend, **options):
        pass


def test_every_snapshot_table_is_there_with_its_rows(tiny: Source) -> None:
    for name in SNAPSHOT_TABLES:
        assert tiny.table(name) is not None
    assert int(tiny.events.count().execute()) == 26
    assert int(tiny.profiles.count().execute()) == 3
    assert int(tiny.items.count().execute()) == 2
    # 4 views, 3 carts, 3 order lines, 2 ratings
    assert int(tiny.interactions.count().execute()) == 12
    with pytest.raises(InvalidInput, match="no table 'orders'"):
        tiny.table("orders")


def test_trait_reads_fields_alike_on_both_engines(tiny: Source) -> None:
    p = tiny.profiles
    got = {r["user_id"]: r for r in rows(p.select(
        "user_id", age=trait(tiny, p.traits, "age"), colour=trait(tiny, p.traits,
                                                                  "favourite colour"),
        tier=trait(tiny, p.traits, "plan.tier"), vip=trait(tiny, p.traits, "vip"),
        missing=trait(tiny, p.traits, "shoe size")))}
    assert {u: got[u]["age"] for u in "abc"} == {"a": "30", "b": "70", "c": "22"}
    assert (got["c"]["colour"], got["c"]["tier"], got["c"]["vip"]) == ("green", "gold", "true")
    assert got["a"]["colour"] is None and got["a"]["missing"] is None


def test_timestamps_come_back_in_utc(tiny: Source) -> None:
    first = tiny.events.timestamp.min().execute()
    assert str(first).startswith("2026-01-05 09:59:00")


def test_opened_refuses_bad_backends_and_folders(tmp_path: Path, tiny_snapshot: Path) -> None:
    with pytest.raises(InvalidInput, match="backend must be one of duckdb, postgres"):
        open_and_close(tiny_snapshot, "spark")
    with pytest.raises(InvalidInput, match="needs a PostgreSQL URL") as err:
        open_and_close(tiny_snapshot, "postgres")
    assert err.value.field == "analytics_url"
    with pytest.raises(InvalidInput, match="is not a snapshot"):
        open_snapshot(tmp_path)
    with pytest.raises(InvalidInput, match="needs a postgresql:// URL"):
        open_and_close(tiny_snapshot, "postgres", url="sqlite:///x.db")


@pytest.mark.postgres
def test_postgres_schema_name_is_checked(tiny_snapshot: Path, postgres_url: str) -> None:
    with pytest.raises(InvalidInput, match="plain lower-case SQL name"):
        open_and_close(tiny_snapshot, "postgres", url=postgres_url, schema="x; drop")
