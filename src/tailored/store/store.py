"""The store: the one interface to the operational database, whatever the backend."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from tailored.catalog import Edge, Item
from tailored.errors import InvalidInput, NotFound, StoreUnavailable
from tailored.events import normalise_email
from tailored.store import reads
from tailored.store.engine import create_store_engine, safe_url
from tailored.store.migrate import upgrade
from tailored.store.personal import PersonalCodec, PersonalData
from tailored.store.tables import (
    api_keys,
    duplicates,
    edges,
    events,
    identities,
    items,
    merges,
    profiles,
    segment_membership,
)
from tailored.store.types import UTCDateTime
from tailored.store.writes import upsert

__all__ = ["SCOPES", "Scope", "Store"]

Scope = Literal["ingest", "read", "admin"]
SCOPES: tuple[Scope, ...] = ("ingest", "read", "admin")
# Identity kinds tried, in order, when a person is named by one string.
_LOOKUP_KINDS = ("user_id", "email", "anonymous_id", "device_id")


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    """Events, identity graph, profiles, catalog, social graph and API keys.

    Open one with :meth:`open`; it migrates the schema to the current version.
    """

    def __init__(self, engine: sa.Engine, *, personal: PersonalData | None = None) -> None:
        self.engine = engine
        self.personal = personal or PersonalData()

    @classmethod
    def open(
        cls, url: str, *, codec: PersonalCodec | None = None, migrate: bool = True
    ) -> Store:
        engine = create_store_engine(url)
        if migrate:
            try:
                upgrade(engine)
            except sa.exc.SQLAlchemyError as exc:
                engine.dispose()
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                raise StoreUnavailable(
                    f"cannot prepare the database {safe_url(url)}: {reason}"
                ) from None
        return cls(engine, personal=PersonalData(codec))

    @property
    def url(self) -> str:
        return safe_url(self.engine.url.render_as_string(hide_password=True))

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A write transaction that holds the write lock from its first statement.

        Identity resolution reads then writes; holding the lock up front makes concurrent
        writers (a CLI import beside a running server) take turns instead of racing.
        """
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74202)")
                yield conn

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    # -- catalog and social graph ----------------------------------------------------

    def upsert_items(self, batch: Iterable[Item], conn: sa.Connection | None = None) -> int:
        now = datetime.now(UTC)
        rows = [{
            "item_id": it.item_id, "title": it.title, "description": it.description,
            "category": it.category, "brand": it.brand, "price": it.price,
            "currency": it.currency, "tags": it.tags, "attributes": it.attributes,
            "image_url": it.image_url, "available": it.available,
            "created_at": now, "updated_at": it.updated_at or now,
        } for it in batch]
        if conn is None:
            with self.transaction() as c:
                upsert(c, items, rows, ["item_id"], keep=["created_at"])
        else:
            upsert(conn, items, rows, ["item_id"], keep=["created_at"])
        return len(rows)

    def upsert_edges(self, batch: Iterable[Edge], conn: sa.Connection | None = None) -> int:
        now = datetime.now(UTC)
        rows = [{"src": e.src, "dst": e.dst, "kind": e.kind, "weight": e.weight,
                 "updated_at": now} for e in batch]
        if conn is None:
            with self.transaction() as c:
                upsert(c, edges, rows, ["src", "dst", "kind"])
        else:
            upsert(conn, edges, rows, ["src", "dst", "kind"])
        return len(rows)

    def catalog_version(self) -> str:
        """Changes whenever an item is added or updated: the count and the latest update."""
        with self.reading() as conn:
            count, latest = conn.execute(
                sa.select(sa.func.count(), sa.func.max(items.c.updated_at))).one()
        stamp = UTCDateTime().process_result_value(latest, self.engine.dialect)
        return f"{count}:{stamp.isoformat() if stamp else '-'}"

    def get_item(self, item_id: str) -> dict[str, Any]:
        with self.reading() as conn:
            row = conn.execute(sa.select(items).where(items.c.item_id == item_id)).first()
        if row is None:
            raise NotFound(f"no item {item_id!r}")
        return dict(row._mapping)

    # -- API keys --------------------------------------------------------------------

    def create_key(self, scope: Scope = "ingest", name: str | None = None) -> str:
        if scope not in SCOPES:
            raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", field="scope")
        key = "tk_" + secrets.token_urlsafe(24)
        with self.transaction() as conn:
            conn.execute(api_keys.insert().values(
                key_hash=_hash_key(key), prefix=key[:8], scope=scope, name=name,
                created_at=datetime.now(UTC),
            ))
        return key

    def key_scope(self, key: str) -> Scope | None:
        """The scope of a live key, or None for an unknown or revoked one."""
        with self.reading() as conn:
            scope = conn.scalar(sa.select(api_keys.c.scope).where(
                api_keys.c.key_hash == _hash_key(key), api_keys.c.revoked_at.is_(None)))
        return scope

    def list_keys(self) -> list[dict[str, Any]]:
        with self.reading() as conn:
            rows = conn.execute(sa.select(api_keys.c.prefix, api_keys.c.scope, api_keys.c.name,
                                          api_keys.c.created_at, api_keys.c.revoked_at)
                                .order_by(api_keys.c.created_at))
            return [dict(r._mapping) for r in rows]

    def revoke_key(self, prefix: str) -> int:
        with self.transaction() as conn:
            return conn.execute(api_keys.update().where(
                api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None)
            ).values(revoked_at=datetime.now(UTC))).rowcount

    # -- people ----------------------------------------------------------------------

    def find_profile(self, identifier: str, conn: sa.Connection | None = None) -> str:
        """The canonical profile id of a person named by any identity or a profile id."""
        if conn is None:
            with self.reading() as c:
                return self.find_profile(identifier, c)
        row = conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                           .where(profiles.c.profile_id == identifier)).first()
        if row is not None:
            return row.merged_into or row.profile_id
        for kind in _LOOKUP_KINDS:
            value = normalise_email(identifier) if kind == "email" else identifier
            if value is None:
                continue
            pid = conn.scalar(sa.select(identities.c.profile_id).where(
                identities.c.kind == kind,
                identities.c.value == self.personal.protect_identity(kind, value)))
            if pid is not None:
                return pid
        raise NotFound(f"no person with the id {identifier!r}")

    def profile(self, identifier: str) -> dict[str, Any]:
        with self.reading() as conn:
            return reads.profile_view(conn, self.find_profile(identifier, conn), self.personal)

    def profiles(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return reads.busiest_profiles(conn, limit, self.personal)

    def merge_history(self, identifier: str) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return reads.merge_history(conn, self.find_profile(identifier, conn), self.personal)

    def stats(self) -> dict[str, Any]:
        with self.reading() as conn:
            return reads.stats(conn)

    def erase_person(self, identifier: str) -> dict[str, int]:
        """Erase one person: events, identities, profiles, merge records, social edges and
        segment membership history, in one transaction. Returns what was deleted, table by table."""
        with self.transaction() as conn:
            pid = self.find_profile(identifier, conn)
            pids = [pid, *conn.scalars(sa.select(profiles.c.profile_id)
                                       .where(profiles.c.merged_into == pid))]
            user_ids = [self.personal.reveal_identity("user_id", v) for v in conn.scalars(
                sa.select(identities.c.value).where(identities.c.profile_id == pid,
                                                    identities.c.kind == "user_id"))]
            deleted = {
                "events": conn.execute(events.delete().where(
                    events.c.profile_id == pid)).rowcount,
                "identities": conn.execute(identities.delete().where(
                    identities.c.profile_id == pid)).rowcount,
                "merges": conn.execute(merges.delete().where(sa.or_(
                    merges.c.from_profile.in_(pids), merges.c.into_profile.in_(pids)))).rowcount,
                "edges": conn.execute(edges.delete().where(sa.or_(
                    edges.c.src.in_(user_ids), edges.c.dst.in_(user_ids)))).rowcount,
                "segment_membership": conn.execute(segment_membership.delete().where(
                    segment_membership.c.profile_id.in_(pids))).rowcount,
                "profiles": conn.execute(profiles.delete().where(
                    profiles.c.profile_id.in_(pids))).rowcount,
            }
        return deleted

    def duplicates_count(self) -> int:
        with self.reading() as conn:
            return int(conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(duplicates.c.count),
                                                              0))) or 0)
