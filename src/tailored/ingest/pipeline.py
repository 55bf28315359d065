"""The one ingestion path: validate, de-duplicate, stitch, write — for every source.

Records arrive from the HTTP API, JSONL files, importers and the Python API alike. They are
handled in chunks; each chunk commits in one transaction, so an event, its identity links
and its profile update are written together or not at all. With ``strict`` the whole run is
one transaction, rolled back at the end if any record was rejected.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from tailored.catalog import Edge, Item
from tailored.config import Settings
from tailored.errors import InvalidInput
from tailored.events import ValidEvent, validate_event
from tailored.identity import IdentityGraph, event_nodes
from tailored.ingest.sources.records import SourceError, SourceRecord, SourceSkip
from tailored.realtime.changes import Change, Publisher
from tailored.store import Store
from tailored.store.checkpoints import BackgroundCheckpoints
from tailored.store.consents import record_event_consents
from tailored.store.coupons import record_redemptions
from tailored.store.tables import events as events_table
from tailored.store.tables import merges as merges_table
from tailored.store.writes import (
    GraphCache,
    apply_graph,
    bump_graph_version,
    count_duplicates,
    existing_message_ids,
    graph_version,
    insert_events,
    load_graph,
)

__all__ = ["IngestReport", "Ingestor", "Rejection"]

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not written: where it was, which field, and why."""

    index: int
    field: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    items: int = 0
    edges: int = 0
    profiles_created: int = 0
    merges: int = 0
    relinks: int = 0
    rolled_back: bool = False
    seconds: float = 0.0
    #: Records the source left out on purpose, by kind: ``{"records", "rows", "reasons"}``.
    left_out: dict[str, dict[str, Any]] = field(default_factory=dict)

    def leave_out(self, skip: SourceSkip) -> None:
        """Count a record the source left out on purpose."""
        entry = self.left_out.setdefault(skip.kind, {"records": 0, "rows": 0, "reasons": {}})
        entry["records"] += 1
        entry["rows"] += skip.rows
        entry["reasons"][skip.reason] = entry["reasons"].get(skip.reason, 0) + 1

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted, "duplicates": self.duplicates,
            "rejected": [r.to_dict() for r in self.rejected], "items": self.items,
            "edges": self.edges, "profiles_created": self.profiles_created,
            "merges": self.merges, "relinks": self.relinks, "rolled_back": self.rolled_back,
            "seconds": round(self.seconds, 3), "left_out": self.left_out,
        }


_gc_pausers = 0
_gc_was_enabled = True
_gc_lock = threading.Lock()


@contextmanager
def _young_gc_only() -> Iterator[None]:
    """Pause the cyclic collector's automatic runs for a bulk load.

    A chunk makes tens of thousands of short-lived objects; automatic collections then keep
    rescanning the caller's (often large) input, which halved throughput. Each chunk ends
    with a collection of the young generations instead, so memory stays bounded. Runs in
    several threads (a server) share one pause: the last to finish turns collection back on.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class _Abort(Exception):
    """Rolls back a strict run's transaction."""


def _pydantic_rejection(index: int, exc: ValidationError) -> Rejection:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "(record)"
    return Rejection(index, where, f"{where}: {err['msg']}")


class Ingestor:
    """Writes records into a store through validation, de-duplication and stitching."""

    def __init__(
        self, store: Store, *, chunk_size: int = 20_000,
        max_future: timedelta = timedelta(days=1), clock: Clock | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.store = store
        # Where each committed chunk is announced (tailored.realtime); None: nowhere, and
        # consumers catch up from the store.
        self.publisher = publisher
        self.chunk_size = chunk_size
        self.max_future = max_future
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        # One writer at a time in this process: the cache belongs to the last committed chunk.
        self._cache = GraphCache()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, store: Store, settings: Settings, *,
                      publisher: Publisher | None = None) -> Ingestor:
        """An ingestor as the settings say. Without a ``publisher``, one with
        ``redis_url`` set publishes on the Redis stream (CLI, imports, Python API alike);
        without Redis nothing is published and consumers catch up from the store."""
        if publisher is None and settings.redis_url:
            from tailored.realtime.redis_bus import RedisBus

            publisher = RedisBus(settings.redis_url, prefix=settings.redis_stream)
        return cls(store, chunk_size=settings.ingest_chunk_size,
                   max_future=timedelta(seconds=settings.max_future_seconds),
                   publisher=publisher)

    def ingest_events(
        self, raws: Iterable[Any], *, start_index: int = 0, strict: bool = False,
        received_at: datetime | None = None,
        on_committed: Callable[[list[tuple[str, ValidEvent]]], None] | None = None,
    ) -> IngestReport:
        """Ingest raw Segment events (dicts); rejections are indexed from ``start_index``."""
        return self.ingest(
            (SourceRecord("event", raw, i) for i, raw in enumerate(raws, start=start_index)),
            strict=strict, received_at=received_at, on_committed=on_committed,
        )

    def ingest(
        self, records: Iterable[SourceRecord | SourceError | SourceSkip], *,
        strict: bool = False, received_at: datetime | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_committed: Callable[[list[tuple[str, ValidEvent]]], None] | None = None,
    ) -> IngestReport:
        """Ingest records from any source; see the module docstring for transactions.

        ``on_committed`` is called after each committed chunk with its accepted events and
        the profile each landed on (not in strict runs, whose one commit comes at the end).
        """
        started = time.perf_counter()
        report = IngestReport()
        events: list[ValidEvent] = []
        items: list[Item] = []
        edges: list[Edge] = []
        seen = 0

        # A run of several chunks checkpoints SQLite's log beside the writing, not in it.
        checkpoints = BackgroundCheckpoints(self.store.engine)

        def flush(conn: sa.Connection | None, *, last: bool = False) -> None:
            if not (events or items or edges):
                return
            if conn is None:
                with self._lock:
                    try:
                        with self.store.transaction(
                                checkpoints=None if last else checkpoints) as c:
                            done = self._write(c, events, items, edges, report, self._cache)
                    except BaseException:
                        self._cache.clear()
                        raise
                    if done is not None:
                        self._cache.keep(*done[:2])
                        if self.publisher is not None:
                            self.publisher.publish(_change(done[0], done[2], done[3],
                                                           done[4]))
                        if on_committed is not None:
                            on_committed(done[2])
                    # The chunk's events must be free before the collection below, or it
                    # scans every one of them (a sixth of a chunk's time) to find nothing.
                    done = None
            else:
                # One long transaction (strict): nothing is committed until the end, so
                # nothing may be cached or published either (consumers catch up from the
                # store).
                self._write(conn, events, items, edges, report, None)
            if on_progress:
                on_progress(seen)
            events.clear()
            items.clear()
            edges.clear()
            gc.collect(1)

        def run(conn: sa.Connection | None) -> None:
            nonlocal seen
            now = received_at or self.clock()
            for rec in records:
                seen += 1
                if isinstance(rec, SourceError):
                    report.rejected.append(Rejection(rec.line, rec.field, rec.reason))
                    continue
                if isinstance(rec, SourceSkip):
                    report.leave_out(rec)
                    continue
                if not (events or items or edges):
                    # One receive time a chunk: what arrives together is stamped together.
                    now = received_at or self.clock()
                try:
                    if rec.kind == "event":
                        events.append(validate_event(rec.data, received_at=now,
                                                     max_future=self.max_future))
                    elif rec.kind == "item":
                        items.append(Item.model_validate(rec.data))
                    else:
                        edges.append(Edge.model_validate(rec.data))
                except InvalidInput as exc:
                    report.rejected.append(Rejection(rec.line, exc.field or "(event)", str(exc)))
                    continue
                except ValidationError as exc:
                    report.rejected.append(_pydantic_rejection(rec.line, exc))
                    continue
                except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                    # A record no check foresaw must not stop the rest of a file loading.
                    report.rejected.append(Rejection(
                        rec.line, "(record)", f"(record): cannot be read ({exc})"))
                    continue
                if strict and report.rejected:
                    # Nothing will be written: keep validating only, to report every problem.
                    events.clear()
                    items.clear()
                    edges.clear()
                elif max(len(events), len(items), len(edges)) >= self.chunk_size:
                    flush(conn)
            if not (strict and report.rejected):
                checkpoints.wait()
                flush(conn, last=True)

        with _young_gc_only():
            if strict:
                try:
                    with self.store.transaction() as conn:
                        run(conn)
                        if report.rejected:
                            raise _Abort
                except _Abort:
                    report.rolled_back = True
                    report.accepted = report.duplicates = report.items = report.edges = 0
                    report.profiles_created = report.merges = report.relinks = 0
            else:
                try:
                    run(None)
                finally:
                    checkpoints.wait()
        report.seconds = time.perf_counter() - started
        return report

    def _write(self, conn: sa.Connection, events: list[ValidEvent], items: list[Item],
               edges: list[Edge], report: IngestReport, cache: GraphCache | None
               ) -> tuple[IdentityGraph, int, list[tuple[str, ValidEvent]], int, int] | None:
        # Items first: an event may name an item its own chunk introduces.
        if items:
            report.items += self.store.upsert_items(items, conn)
        if edges:
            report.edges += self.store.upsert_edges(edges, conn)
        if not events:
            return None
        now = self.clock()
        existing = existing_message_ids(conn, [v.message_id for v in events])
        fresh: list[ValidEvent] = []
        dups: list[str] = []
        taken: set[str] = set()
        for v in events:
            if v.message_id in existing or v.message_id in taken:
                dups.append(v.message_id)
            else:
                taken.add(v.message_id)
                fresh.append(v)
        personal = self.store.personal
        version = graph_version(conn)
        if cache is not None:
            cache.check(version)
        nodes = [event_nodes(v) for v in fresh]
        graph = load_graph(conn, {n for ns in nodes for n in ns}, personal, now, cache)
        known = set(graph.profiles)
        for v, ns in zip(fresh, nodes, strict=True):
            graph.resolve(v, ns)
        del nodes
        apply_graph(conn, graph, personal, now)
        attributed = [(v, graph.canonical(p))
                      for v, p in zip(fresh, graph.attributed, strict=True)]
        insert_events(conn, attributed, personal)
        # Consent carried by events counts from the moment they are stored: a campaign sent
        # before any consumer ran must already see it.
        record_event_consents(conn, ((pid, v) for v, pid in attributed
                                     if "consent" in v.context))
        record_redemptions(conn, (v for v, _ in attributed))
        # Writers take turns (the store's write lock), so the chunk's ids are the last ones.
        last_id = int(conn.scalar(sa.select(sa.func.max(events_table.c.id))) or 0) \
            if self.publisher is not None and attributed else 0
        last_merge = int(conn.scalar(sa.select(sa.func.max(merges_table.c.id))) or 0) \
            if self.publisher is not None and graph.merges else 0
        if dups:
            count_duplicates(conn, dups, now)
        version = bump_graph_version(conn, version)
        report.accepted += len(fresh)
        report.duplicates += len(dups)
        report.profiles_created += sum(
            1 for pid, p in graph.profiles.items() if pid not in known and p.merged_into is None)
        report.merges += sum(1 for m in graph.merges if m.kind == "merge")
        report.relinks += sum(1 for m in graph.merges if m.kind == "relink")
        return graph, version, [(pid, v) for v, pid in attributed], last_id, last_merge


def _change(graph: IdentityGraph, landed: list[tuple[str, ValidEvent]], last_id: int,
            last_merge: int) -> Change:
    """A committed chunk as ids: its events and its merges (store ids when known)."""
    n, m = len(landed), len(graph.merges)
    return Change(
        events=tuple((v.message_id, pid) for pid, v in landed),
        event_ids=tuple(range(last_id - n + 1, last_id + 1)) if last_id else (),
        merges=tuple((g.from_profile, g.into_profile) for g in graph.merges),
        merge_ids=tuple(range(last_merge - m + 1, last_merge + 1)) if last_merge else ())
