"""The worker: runs every consumer over the change stream and the store's log.

Each consumer reads changes as they are published (a bus) and, besides, catches up from the
store (events by id, merges by id) from its own position: at start, every few seconds, and
whenever a publisher says it missed changes. So a worker that starts after a CLI import, or
runs while Redis is away, misses nothing. A consumer that fails on a batch is retried with
back-off; a batch that still fails is split into its events, and an event that fails every
try is parked with its error (``tailored worker status``) so the stream goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tailored.ingest import Ingestor
from tailored.realtime.changes import Change, Publisher
from tailored.realtime.consumers import Batch, Consumer, Context, registered
from tailored.realtime.live_profile import EVENT_COLUMNS
from tailored.realtime.positions import Position, load_position, save_position
from tailored.realtime.relay import Later
from tailored.realtime.status import worker_status
from tailored.store.tables import events, merges, realtime_parked

if TYPE_CHECKING:
    from tailored.realtime.bus import Bus
    from tailored.store import Store

__all__ = ["REPORT_KEYS", "Worker"]

log = logging.getLogger("tailored.realtime")

#: The keys of ``tailored worker --once --json``.
REPORT_KEYS = ("events", "profiles_updated", "segments_entered", "segments_exited",
               "due_checked", "seconds")
_IN = 900  # ids per IN list (SQLite's host-parameter limit)


@dataclass(frozen=True)
class End:
    """The log's end at one moment: its last event and merge ids."""

    event_id: int
    merge_id: int


@dataclass
class _Read:
    """What one attempt read: events, merges to apply, erased ids, and how far it read."""

    rows: list[Any]
    moved: list[tuple[str, str]]
    erased: Sequence[str]
    top: int | None = None  # a catch-up's last event id (the position moves there)
    merge_top: int | None = None  # ... and last merge id
    merge_ids: set[int] = field(default_factory=set)  # the bus's merges applied now


class _Step:
    """What one attempt at a batch read: kept for splitting it when it keeps failing."""

    def __init__(self) -> None:
        self.rows: list[Any] = []


class Worker:
    """Runs consumers over changes and the store's log (see the module docstring)."""

    def __init__(
        self, store: Store, *, consumers: Sequence[Consumer] | None = None,
        clock: Callable[[], datetime] | None = None, retries: int = 3,
        backoff_seconds: float = 0.05, batch_size: int = 2_000,
        publisher: Publisher | None = None,
    ) -> None:
        self.store = store
        # Consumers record events of their own (Segment Entered) through this ingestor; with
        # a publisher (a server's bus) those are announced like any other.
        self.ingestor = Ingestor(store, publisher=publisher)
        self.consumers = list(registered() if consumers is None else consumers)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.retries = max(1, retries)
        self.backoff_seconds = backoff_seconds
        self.batch_size = batch_size
        self.touched: set[str] = set()
        self.counts: Counter[str] = Counter()

    # -- one batch -------------------------------------------------------------------------

    def _read(self, conn: sa.Connection, pos: Position, change: Change | None,
              upto: End | None = None) -> _Read:
        if change is None:
            rows = list(conn.execute(sa.select(*EVENT_COLUMNS).where(_after(pos, upto))
                                     .order_by(events.c.id).limit(self.batch_size)).all())
            mrows = conn.execute(
                sa.select(merges.c.id, merges.c.from_profile, merges.c.into_profile)
                .where(_merges_after(pos, upto)).order_by(merges.c.id)
                .limit(self.batch_size)).all()
            # Merges a bus brought are handled already: re-applying them would recount
            # their people from every event for nothing.
            return _Read(rows, [(f, i) for m, f, i in mrows if not pos.merge_handled(m)], (),
                         rows[-1].id if rows else None, mrows[-1].id if mrows else None)
        mids = [m for m, _ in change.events]
        rows = []
        for i in range(0, len(mids), _IN):
            batch = mids[i:i + _IN]
            # PostgreSQL: one array parameter, planned as index look-ups whatever the
            # table's statistics (a long IN list was once planned as a full scan).
            where = (events.c.message_id == sa.any_(sa.bindparam(
                None, batch, type_=postgresql.ARRAY(sa.String)))
                if conn.dialect.name == "postgresql" else events.c.message_id.in_(batch))
            rows += conn.execute(sa.select(*EVENT_COLUMNS).where(where)).all()
        rows.sort(key=lambda r: r.id)
        if len(change.merge_ids) != len(change.merges):
            return _Read(rows, list(change.merges), change.erased)
        fresh = [(pair, m) for pair, m in zip(change.merges, change.merge_ids, strict=True)
                 if not pos.merge_handled(m)]
        return _Read(rows, [pair for pair, _ in fresh], change.erased,
                     merge_ids={m for _, m in fresh})

    def _attempt(self, consumer: Consumer, change: Change | None, step: _Step,
                 upto: End | None = None) -> tuple[int, bool]:
        """One try at the next batch for one consumer; (events handled, anything read)."""
        if change is None and not self._pending(consumer, upto):
            return 0, False
        now = self.clock()
        if consumer.transactional:
            with self.store.transaction(lock=_lock(consumer)) as conn:
                pos = load_position(conn, consumer.name)
                read = self._read(conn, pos, change, upto)
                fresh = [r for r in read.rows if not pos.handled(r.id)]
                step.rows = fresh
                ids = {r.id for r in fresh}
                batch = Batch(fresh, read.moved, read.erased,
                              backlog=self._backlog(conn, change, read))
                if batch:
                    ctx = Context(self.store, now, conn, touched=self.touched,
                                  ingestor=self.ingestor, from_bus=change is not None,
                                  handled=lambda i: i in ids or pos.handled(i))
                    self._count(consumer.handle(ctx, batch))
                self._move(conn, pos, ids, read)
            return len(fresh), bool(read.rows) or read.merge_top is not None
        with self.store.reading() as conn:
            pos = load_position(conn, consumer.name)
            read = self._read(conn, pos, change, upto)
            backlog = self._backlog(conn, change, read)
        fresh = [r for r in read.rows if not pos.handled(r.id)]
        step.rows = fresh
        batch = Batch(fresh, read.moved, read.erased, backlog=backlog)
        if batch:
            # Idempotent consumers work outside the position's transaction: a crash between
            # the two repeats the batch, never skips it.
            self._count(consumer.handle(Context(self.store, now, touched=self.touched,
                                                        ingestor=self.ingestor,
                                                        from_bus=change is not None), batch))
        with self.store.transaction(lock=_lock(consumer)) as conn:
            self._move(conn, load_position(conn, consumer.name), {r.id for r in fresh}, read)
        return len(fresh), bool(read.rows) or read.merge_top is not None

    def _backlog(self, conn: sa.Connection, change: Change | None, read: _Read) -> bool:
        """Whether a catch-up read a full batch with more of the log behind it."""
        if change is not None or len(read.rows) < self.batch_size:
            return False
        return int(conn.scalar(sa.select(sa.func.max(events.c.id))) or 0) > read.rows[-1].id

    def _pending(self, consumer: Consumer, upto: End | None = None) -> bool:
        """Whether the log holds anything past the consumer's position (read only: an idle
        worker never takes the store's write lock)."""
        with self.store.reading() as conn:
            pos = load_position(conn, consumer.name)
        if not pos.stored and getattr(consumer, "start_at_end", False):
            # A consumer for what happens from now on (the stream relay) starts at the end.
            with self.store.transaction(lock=_lock(consumer)) as conn:
                pos = load_position(conn, consumer.name)
                if not pos.stored:
                    pos.event_pos = int(conn.scalar(sa.select(sa.func.max(events.c.id))) or 0)
                    pos.merge_pos = int(conn.scalar(sa.select(sa.func.max(merges.c.id))) or 0)
                    save_position(conn, pos)
        with self.store.reading() as conn:
            return conn.scalar(sa.select(sa.literal(1)).where(sa.or_(
                sa.exists().where(_after(pos, upto)),
                sa.exists().where(_merges_after(pos, upto))))) is not None

    @staticmethod
    def _move(conn: sa.Connection, pos: Position, ids: set[int], read: _Read | None) -> None:
        before = (pos.event_pos, pos.event_seen, pos.merge_pos, pos.merge_seen)
        pos.events_handled += sum(1 for i in ids if not pos.handled(i))
        pos.mark(ids)
        if read is not None:
            pos.mark_merges(read.merge_ids)
            if read.top is not None:
                pos.advance_to(read.top)
            if read.merge_top is not None:
                pos.advance_merges_to(read.merge_top)
        if not pos.stored or (pos.event_pos, pos.event_seen, pos.merge_pos,
                              pos.merge_seen) != before:
            save_position(conn, pos)

    def _count(self, counts: dict[str, int]) -> None:
        self.counts.update({k: v for k, v in counts.items()
                            if k not in ("events", "profiles_updated")})

    def _deliver(self, consumer: Consumer, change: Change | None, upto: End | None = None
                 ) -> tuple[int, bool]:
        """A batch for one consumer, retried with back-off, split and parked if it must be."""
        step = _Step()
        error: Exception | None = None
        for attempt in range(self.retries):
            try:
                return self._attempt(consumer, change, step, upto)
            except Later:
                return 0, False  # nothing failed: its position waits for the next catch-up
            except Exception as exc:  # a consumer's failure must not stop the stream
                error = exc
                log.warning("consumer %s failed (try %d of %d): %s", consumer.name,
                            attempt + 1, self.retries, _one_line(exc))
                time.sleep(self.backoff_seconds * 2 ** attempt)
        assert error is not None
        if len(step.rows) > 1:
            # Find the event that fails: each on its own, the good ones handled.
            handled = 0
            for row in step.rows:
                n, _ = self._deliver(consumer, Change(events=((row.message_id,
                                                               row.profile_id),)))
                handled += n
            if change is not None and change.merges:
                self._deliver(consumer, Change(merges=change.merges, erased=change.erased))
                return handled, True
            n, read = self._deliver(consumer, change, upto)
            return handled + n, read
        self._park(consumer, step.rows[0] if step.rows else None, change, error)
        return 0, True

    def _park(self, consumer: Consumer, row: Any | None, change: Change | None,
              error: Exception) -> None:
        with self.store.transaction(lock=_lock(consumer)) as conn:
            pos = load_position(conn, consumer.name)
            ids = {row.id} if row is not None else set()
            past = None
            if row is None and change is None:  # the merges part of a catch-up failed
                past = _Read([], [], (), merge_top=self._read(conn, pos, None).merge_top)
            conn.execute(realtime_parked.insert().values(
                consumer=consumer.name, event_id=None if row is None else row.id,
                message_id=None if row is None else row.message_id,
                profile_id=None if row is None else row.profile_id, attempts=self.retries,
                error=_one_line(error)[:2000], parked_at=datetime.now(UTC)))
            self._move(conn, pos, ids, past)
        log.error("consumer %s parked %s after %d tries: %s", consumer.name,
                  f"event {row.id}" if row is not None else "a merge batch", self.retries,
                  _one_line(error))

    # -- the stream ------------------------------------------------------------------------

    def handle_change(self, change: Change) -> int:
        """Handle a published change with every consumer; events handled (most of any)."""
        handled = 0
        for consumer in self.consumers:
            if change.events or change.merges or change.erased:
                n, _ = self._deliver(consumer, change)
                handled = max(handled, n)
        if change.resync:
            handled = max(handled, self.catch_up())
        self.counts["events"] += handled
        return handled

    def catch_up(self, upto: End | None = None) -> int:
        """Read the store's log until every consumer is at its end (or at ``upto``); events
        handled."""
        total = 0
        for consumer in self.consumers:
            n_consumer = 0
            while True:
                n, read = self._deliver(consumer, None, upto)
                n_consumer += n
                if not read:
                    break
            total = max(total, n_consumer)
        return total

    def _due(self, now: datetime) -> int:
        checked = 0
        for consumer in self.consumers:
            due = getattr(consumer, "due", None)
            if due is None:
                continue
            people = due(self.store, now)
            checked += len(people)
            if people:
                self._count(consumer.handle(Context(self.store, now, touched=self.touched,
                                                        ingestor=self.ingestor),
                                            _people_batch(people)))
        self.counts["due_checked"] += checked
        return checked

    def run_once(self) -> dict[str, Any]:
        """Everything pending and due, then the report (``--once``)."""
        started = time.perf_counter()
        self.counts.clear()
        self.touched.clear()
        events_before = 0
        handled = self.catch_up()
        self._due(self.clock())
        # The consumers' own events (Segment Entered / Exited) are handled too.
        for _ in range(10):
            more = self.catch_up()
            handled += more
            if not more:
                break
        report: dict[str, Any] = {key: int(self.counts.get(key, 0)) for key in REPORT_KEYS}
        report["events"] = handled + events_before
        report["profiles_updated"] = len(self.touched)
        report["seconds"] = round(time.perf_counter() - started, 3)
        return report

    def run(self, stop: threading.Event, bus: Bus | None = None, *,
            catch_up_seconds: float = 2.0, due_seconds: float = 10.0,
            poll_seconds: float | None = None) -> None:
        """Handle changes until ``stop`` is set.

        With no bus and ``poll_seconds``, the store's log is the stream: its end is looked
        at every ``poll_seconds`` while events come (two index look-ups), and less often,
        up to 10 times that, while none do; whatever is new is caught up at once."""
        if bus is None and poll_seconds is not None:
            self._poll(stop, poll_seconds, due_seconds)
            return
        last_catch_up = last_due = 0.0
        bus_down = False
        settled: End | None = None  # the log's end at the previous catch-up
        while not stop.is_set():
            now = time.monotonic()
            try:
                if now - last_catch_up >= catch_up_seconds:
                    end = self._log_end()
                    # With a bus, events younger than the previous catch-up are still on
                    # their way through it: reading them here too would only race it (and
                    # hold up the live updates behind a long read). What never comes
                    # through it (a CLI import) is caught up one period later.
                    self.catch_up(settled if bus is not None and last_catch_up else None)
                    settled = end
                    last_catch_up = now
                if now - last_due >= due_seconds:
                    self._due(self.clock())
                    last_due = now
            except Exception as exc:  # the store away: say so, try again shortly
                log.error("real-time catch-up failed: %s", _one_line(exc))
                stop.wait(1.0)
                continue
            if bus is None:
                stop.wait(min(catch_up_seconds, 0.5))
                continue
            try:
                deliveries = bus.read(timeout=0.5)
                if bus_down:
                    log.warning("%s is back; catching up from the store", bus)
                    bus_down = False
                    last_catch_up = 0.0
            except Exception as exc:
                if not bus_down:
                    log.error("%s unavailable (%s); catching up from the store until it "
                              "is back", bus, _one_line(exc))
                    bus_down = True
                stop.wait(1.0)
                continue
            if not deliveries:
                continue
            change = Change.combine([d.change for d in deliveries])
            try:
                self.handle_change(change)
            except Exception as exc:  # the store away: leave them unacknowledged
                log.error("real-time handling failed: %s", _one_line(exc))
                stop.wait(1.0)
                continue
            for d in deliveries:
                d.ack()

    def _poll(self, stop: threading.Event, poll_seconds: float, due_seconds: float) -> None:
        seen: End | None = None
        last_due = 0.0
        wait = poll_seconds
        while not stop.is_set():
            try:
                end = self._log_end()
                if end != seen:
                    self.catch_up()
                    seen = end
                    wait = poll_seconds
                else:
                    wait = min(wait * 2, poll_seconds * 10)
                if time.monotonic() - last_due >= due_seconds:
                    self._due(self.clock())
                    last_due = time.monotonic()
            except Exception as exc:  # the store away: say so, try again shortly
                log.error("real-time catch-up failed: %s", _one_line(exc))
                wait = 1.0
            stop.wait(wait)

    def _log_end(self) -> End:
        with self.store.reading() as conn:
            return End(int(conn.scalar(sa.select(sa.func.max(events.c.id))) or 0),
                       int(conn.scalar(sa.select(sa.func.max(merges.c.id))) or 0))

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Positions, what is left to handle, and parked failures."""
        return worker_status(self.store, [c.name for c in self.consumers])


def _lock(consumer: Consumer) -> str:
    """A consumer's transactions write its own tables and position, never events or
    merges: they take turns with that consumer's other runs (other processes), not with
    ingestion."""
    return f"realtime:{consumer.name}"


def _after(pos: Position, upto: End | None) -> sa.ColumnElement[bool]:
    """Events past a position (and at most ``upto``)."""
    after = events.c.id > pos.event_pos
    return after if upto is None else sa.and_(after, events.c.id <= upto.event_id)


def _merges_after(pos: Position, upto: End | None) -> sa.ColumnElement[bool]:
    after = merges.c.id > pos.merge_pos
    return after if upto is None else sa.and_(after, merges.c.id <= upto.merge_id)


class _PersonRow:
    """A stand-in batch row for a due-time check: a person, no event."""

    __slots__ = ("profile_id",)

    def __init__(self, profile_id: str) -> None:
        self.profile_id = profile_id


def _people_batch(people: Sequence[str]) -> Batch:
    return Batch(events=[_PersonRow(p) for p in people])


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
