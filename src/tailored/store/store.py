"""The store: the one interface to the operational database, whatever the backend."""

from __future__ import annotations

import hashlib
import secrets
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from tailored.catalog import Edge, Item
from tailored.errors import InvalidInput, NotFound, StoreUnavailable
from tailored.store import reads
from tailored.store.checkpoints import BackgroundCheckpoints
from tailored.store.engine import create_store_engine, normalise_url, safe_url
from tailored.store.erasure import Erasure, erase_matches, people_to_erase, truncate_wal
from tailored.store.item_changes import record_item_changes
from tailored.store.lookup import Match, every_match, first_match
from tailored.store.migrate import current_revision, head_revision, upgrade
from tailored.store.personal import PersonalCodec, PersonalData
from tailored.store.presence import check_sqlite_file, holds_store, sqlite_file
from tailored.store.tables import (
    api_keys,
    duplicates,
    edges,
    items,
)
from tailored.store.types import UTCDateTime
from tailored.store.writes import upsert

__all__ = ["SCOPES", "Scope", "Store"]

# ingest: events (the write key the SDKs ship in apps); catalog: items and social edges;
# read: profiles, stats, items, recommendations; admin: all of them, erasure and keys.
Scope = Literal["ingest", "catalog", "read", "admin"]
SCOPES: tuple[Scope, ...] = ("ingest", "catalog", "read", "admin")


def _missing(url: str, shown: str) -> str:
    path = sqlite_file(url)
    where = (f"{path} does not exist" if path is not None and not path.exists()
             else "the database holds no Tailored tables")
    return (f"no store at {shown} ({where}); commands that write (ingest, import, "
            "quickstart, keys create, serve, segment define) create it")


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    """Events, identity graph, profiles, catalog, social graph and API keys.

    Open one with :meth:`open`; it migrates the schema to the current version.
    """

    def __init__(self, engine: sa.Engine, *, personal: PersonalData | None = None) -> None:
        self.engine = engine
        self.personal = personal or PersonalData()
        # SQLite's busy handler sleeps (1, 2, 5, 10 ... 100 ms) between tries for the write
        # lock, so threads of one process that write (a server's requests, its real-time
        # thread) queue here first and take turns at once; other processes still wait in
        # SQLite. PostgreSQL queues writers itself (an advisory lock).
        self._writer = threading.RLock() if engine.dialect.name == "sqlite" else None
        self.created = False  # whether open() made this store (it did not exist before)

    @classmethod
    def open(
        cls, url: str, *, codec: PersonalCodec | None = None, migrate: bool = True,
        create: bool = True,
    ) -> Store:
        """Open the store at ``url``, migrated to the current schema. A store that does not
        exist yet is created (``created`` is then True), or with ``create=False`` refused:
        :class:`StoreUnavailable` naming it, and nothing is written."""
        shown = safe_url(normalise_url(url))
        if sqlite_file(url) is not None:
            check_sqlite_file(url, shown)  # a folder, not a database, unreadable: one line
            if not create and not holds_store(url):
                raise StoreUnavailable(_missing(url, shown))
        engine = create_store_engine(url)
        existed = holds_store(url, engine)
        if not existed and not create:
            engine.dispose()
            raise StoreUnavailable(_missing(url, shown))
        if migrate:
            try:
                upgrade(engine)
            except sa.exc.SQLAlchemyError as exc:
                engine.dispose()
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                raise StoreUnavailable(
                    f"cannot prepare the database {safe_url(url)}: {reason}"
                ) from None
        store = cls(engine, personal=PersonalData(codec))
        store.created = not existed
        return store

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
    def transaction(self, *, checkpoints: BackgroundCheckpoints | None = None,
                    lock: str | None = None) -> Iterator[sa.Connection]:
        """A write transaction that holds the write lock from its first statement.

        Identity resolution reads then writes; holding the lock up front makes concurrent
        writers (a CLI import beside a running server) take turns instead of racing, and
        makes events and merges commit in id order. With ``checkpoints`` (a bulk load),
        SQLite's log is checkpointed after the commit in the background instead of by the
        commit itself. ``lock`` names a narrower lock for writers that touch neither events
        nor merges (a real-time consumer's own tables): on PostgreSQL they take turns only
        with the writers of the same name, not with ingestion (SQLite has one write lock).
        """
        with self._writer or nullcontext(), self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with checkpoints.deferred(conn) if checkpoints else nullcontext(), conn.begin():
                if conn.dialect.name == "postgresql":
                    if lock is None:
                        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74202)")
                    else:  # the two-key space, apart from the one-key lock above
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(74202, :key)"),
                                     {"key": zlib.crc32(lock.encode()) & 0x7FFFFFFF})
                yield conn

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def health(self) -> dict[str, Any]:
        """Whether the database answers and its schema is the one this code expects:
        ``{"ok", "backend", "store", "migration", "head"}``."""
        head = head_revision()
        try:
            migration = current_revision(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            return {"ok": False, "backend": self.backend, "store": f"unreachable: {reason}",
                    "migration": None, "head": head}
        return {"ok": migration == head, "backend": self.backend, "store": "reachable",
                "migration": migration, "head": head}

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
                record_item_changes(c, rows, now)
                upsert(c, items, rows, ["item_id"], keep=["created_at"])
        else:
            record_item_changes(conn, rows, now)
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
        return self.lookup(identifier, conn).profile_id

    def lookup(self, identifier: str, conn: sa.Connection | None = None) -> Match:
        """The person a string names and which kind of id matched (the everyday look-up:
        the profile id, else user id, e-mail, anonymous id, device id, first found)."""
        if conn is None:
            with self.reading() as c:
                return first_match(c, identifier, self.personal)
        return first_match(conn, identifier, self.personal)

    def find_people(self, identifier: str) -> list[Match]:
        """Every profile holding the string as any identity, or as the e-mail in its traits:
        what an erasure or export on request must consider before acting."""
        with self.reading() as conn:
            return every_match(conn, identifier, self.personal)

    def people_to_erase(self, identifier: str, *, all_matches: bool = False) -> list[Match]:
        """Whom :meth:`erase_person` would erase; AmbiguousPerson if several and not
        ``all_matches``."""
        with self.reading() as conn:
            return people_to_erase(conn, identifier, self.personal, all_matches=all_matches)

    def profile(self, identifier: str) -> dict[str, Any]:
        with self.reading() as conn:
            match = self.lookup(identifier, conn)
            view = reads.profile_view(conn, match.profile_id, self.personal)
        return {**view, "matched_by": match.matched_by}

    def profiles(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return reads.busiest_profiles(conn, limit, self.personal)

    def merge_history(self, identifier: str) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return reads.merge_history(conn, self.find_profile(identifier, conn), self.personal)

    def stats(self) -> dict[str, Any]:
        with self.reading() as conn:
            return reads.stats(conn)

    def erase_person(self, identifier: str, *, all_matches: bool = False) -> dict[str, Any]:
        """Erase a person in one transaction: events, identities, profiles, merge records,
        social edges and segment history.

        Every profile holding ``identifier`` is found first (see :meth:`find_people`); when
        several do, nothing is erased and :class:`~tailored.errors.AmbiguousPerson` lists
        them, unless ``all_matches``. Returns ``{"profile_id", "matched_by", "rows",
        "erased"}``: the first match, how it matched, rows deleted per table summed over
        everyone erased, and each erased profile with its own rows. On SQLite the
        write-ahead log is then truncated, so no old copy of the rows stays in it; when
        readers keep it from that, the answer also has ``"warnings"`` saying so.
        """
        return self.erase(identifier, all_matches=all_matches).answer

    def erase(self, identifier: str, *, all_matches: bool = False) -> Erasure:
        """:meth:`erase_person`, also saying every id the erased were known by, for what
        holds people outside the store (models, caches): see :mod:`tailored.privacy`."""
        with self.transaction() as conn:
            matches = people_to_erase(conn, identifier, self.personal, all_matches=all_matches)
            erasure = erase_matches(conn, matches, self.personal)
        # After the commit: the log still holds the pages as they were before it.
        problem = truncate_wal(self.engine)
        if problem is not None:
            erasure.answer["warnings"] = [problem]
        return erasure

    def duplicates_count(self) -> int:
        with self.reading() as conn:
            return int(conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(duplicates.c.count),
                                                              0))) or 0)
