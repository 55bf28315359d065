"""Fresh recommendations in every serving process, whichever process ingested the event.

Each ``tailored serve`` keeps a :class:`ModelFoldIn`: every committed event is folded into
the process's loaded models (``Recommender.update``) exactly once, read from the store by
id. Three roads lead there, and a position kept in memory (which ids this process has
folded) makes them one:

- what this process ingests: its publisher (:class:`ServingPublisher`) folds the chunk in
  right after the commit, before the HTTP answer goes out;
- what other processes ingest: the bus's broadcast of each change (Redis: every process
  reads the whole broadcast stream), read by :meth:`ModelFoldIn.run`'s thread;
- what nobody announced (a CLI import, Redis away, an in-process bus): a catch-up from the
  store's log every second.

A model loaded later (first use, or the new copy ``tailored train`` saved, which the model
cache notices by its stamp before serving) first gets every event since its training
snapshot (``metadata_["snapshot"]["state"]["last_event_id"]``) that this process has
folded, then the same stream as the others.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.realtime.changes import Change
from tailored.realtime.live_profile import EVENT_COLUMNS
from tailored.realtime.positions import Position
from tailored.recommend.freshness import fold_in_rows
from tailored.store.tables import events

if TYPE_CHECKING:
    from tailored.realtime.bus import Bus
    from tailored.realtime.changes import Publisher
    from tailored.recommend.base import Recommender
    from tailored.recommend.interactions import Weights
    from tailored.recommend.training import ModelCache
    from tailored.store import Store

__all__ = ["ModelFoldIn", "ServingPublisher"]

log = logging.getLogger("tailored.realtime")

_IN = 900  # ids per IN list (SQLite's host-parameter limit)
_BATCH = 5_000


class ModelFoldIn:
    """Folds every committed event into one process's loaded models, once each."""

    def __init__(self, store: Store, cache: ModelCache, *, default_model: str | None = None,
                 weights: Weights | None = None, backfill_limit: int = 50_000) -> None:
        self.store = store
        self.cache = cache
        self.default_model = default_model
        self.weights = weights
        self.backfill_limit = backfill_limit
        self._pos = Position("model_fold_in")  # this process's, never stored
        self._lock = threading.RLock()
        self._ready: weakref.WeakSet[Recommender] = weakref.WeakSet()
        self.folded = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        cache.on_load = self.adopt
        self._start = self._top()
        self._pos.advance_to(self._start)

    def _top(self) -> int:
        try:
            with self.store.reading() as conn:
                return int(conn.scalar(sa.select(sa.func.max(events.c.id))) or 0)
        except sa.exc.OperationalError as exc:
            # A server starts while its store is down (/health then says so): models fold
            # in from the start of the log once it is back, bounded by backfill_limit.
            log.warning("store unreachable at start: %s", str(exc.orig).splitlines()[0])
            return 0

    # -- models ----------------------------------------------------------------------------

    def adopt(self, model: Recommender) -> None:
        """A newly loaded model: fold in what this process folded since its training."""
        with self._lock:
            if model in self._ready:
                return
            snapshot = (getattr(model, "metadata_", None) or {}).get("snapshot") or {}
            cutoff = int((snapshot.get("state") or {}).get("last_event_id") or self._start)
            top = self._pos.event_pos
            if top - cutoff > self.backfill_limit:
                log.warning("model %s was trained %d events ago; folding in the last %d "
                            "(retrain to include the rest)",
                            model.metadata_.get("model", model.name), top - cutoff,
                            self.backfill_limit)
                cutoff = top - self.backfill_limit
            rows = self._rows_after(cutoff)
            fold_in_rows([model], (r for r in rows if self._pos.handled(r.id)), self.weights)
            self._ready.add(model)

    def _models(self) -> list[Recommender]:
        """The serving models, each adopted (called under the lock)."""
        try:
            # The default model is loaded if it is trained, so a person's first events reach
            # the model that will answer their first request.
            models = self.cache.serving(self.default_model)
        except Exception as exc:  # a model that cannot load must not stop the folding
            log.warning("fresh recommendations: models could not load: %s", exc)
            models = self.cache.loaded()
        for model in models:
            if model not in self._ready:
                self.adopt(model)
        return models

    # -- events ----------------------------------------------------------------------------

    def _rows_after(self, after: int) -> list[Any]:
        rows: list[Any] = []
        while True:
            with self.store.reading() as conn:
                page = conn.execute(sa.select(*EVENT_COLUMNS).where(events.c.id > after)
                                    .order_by(events.c.id).limit(_BATCH)).all()
            rows += page
            if len(page) < _BATCH:
                return rows
            after = page[-1].id

    def _rows_by_id(self, ids: Sequence[int]) -> list[Any]:
        rows: list[Any] = []
        with self.store.reading() as conn:
            if ids and ids[-1] - ids[0] + 1 == len(ids):  # a chunk's ids are contiguous
                rows += conn.execute(sa.select(*EVENT_COLUMNS)
                                     .where(events.c.id.between(ids[0], ids[-1]))).all()
            else:
                for i in range(0, len(ids), _IN):
                    rows += conn.execute(sa.select(*EVENT_COLUMNS)
                                         .where(events.c.id.in_(ids[i:i + _IN]))).all()
        return rows

    def _rows_by_message(self, message_ids: Sequence[str]) -> list[Any]:
        rows: list[Any] = []
        with self.store.reading() as conn:
            for i in range(0, len(message_ids), _IN):
                rows += conn.execute(sa.select(*EVENT_COLUMNS).where(
                    events.c.message_id.in_(message_ids[i:i + _IN]))).all()
        return rows

    def _fold(self, rows: Iterable[Any], top: int | None = None) -> int:
        with self._lock:
            fresh = sorted((r for r in rows if not self._pos.handled(r.id)), key=lambda r: r.id)
            if fresh:
                fold_in_rows(self._models(), fresh, self.weights)
                self._pos.mark(r.id for r in fresh)
                self.folded += len(fresh)
            if top is not None:
                self._pos.advance_to(top)
            return len(fresh)

    def fold_change(self, change: Change) -> int:
        """Fold in a change's events (read from the store by id); events folded."""
        if not change.events:
            return 0
        ids = sorted(change.event_ids)
        if len(ids) == len(change.events):
            if all(self._pos.handled(i) for i in ids):
                return 0
            return self._fold(self._rows_by_id(ids))
        return self._fold(self._rows_by_message([m for m, _ in change.events]))

    def catch_up(self) -> int:
        """Fold in every event of the store's log this process has not folded."""
        total = 0
        while True:
            after = self._pos.event_pos
            with self.store.reading() as conn:
                rows = conn.execute(sa.select(*EVENT_COLUMNS).where(events.c.id > after)
                                    .order_by(events.c.id).limit(_BATCH)).all()
            if not rows:
                return total
            # Writers commit in id order (the store's write lock), so nothing will appear
            # below what is read here: the position moves to its end.
            total += self._fold(rows, top=rows[-1].id)
            if len(rows) < _BATCH:
                return total

    def run(self, stop: threading.Event, bus: Bus | None, *,
            catch_up_seconds: float = 1.0) -> None:
        """Fold in broadcast changes as they come, and catch up from the store, until
        ``stop`` is set."""
        import time

        last = 0.0
        bus_down = False
        while not stop.is_set():
            try:
                if time.monotonic() - last >= catch_up_seconds:
                    last = time.monotonic()
                    self.catch_up()
            except Exception as exc:  # the store away: try again shortly
                log.error("fresh recommendations: catch-up failed: %s", exc)
                stop.wait(1.0)
                continue
            if bus is None:
                stop.wait(min(catch_up_seconds, 0.5))
                continue
            try:
                broadcasts = bus.read_broadcasts(timeout=0.2)
                bus_down = False
            except Exception as exc:
                if not bus_down:
                    log.error("fresh recommendations: bus unavailable (%s); catching up "
                              "from the store", exc)
                    bus_down = True
                stop.wait(1.0)
                continue
            for message in broadcasts:
                if message.topic != "change":
                    continue
                try:
                    self.fold_change(Change.from_json(_json(message.body)))
                except Exception as exc:  # one bad message must not stop the others
                    log.warning("fresh recommendations: a change was not folded in: %s", exc)


    def start(self, bus: Bus | None, *, catch_up_seconds: float = 1.0) -> None:
        """Run :meth:`run` in a daemon thread (a server's lifetime)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run, args=(self._stop, bus),
                kwargs={"catch_up_seconds": catch_up_seconds}, name="tailored-fold-in",
                daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def _json(body: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(body)


class ServingPublisher:
    """A server's publisher: announces each committed change on the bus (when there is
    one), then folds it into this process's models before the request is answered."""

    def __init__(self, bus: Publisher | None, fold: ModelFoldIn) -> None:
        self.bus = bus
        self.fold = fold

    def publish(self, change: Change) -> None:
        if self.bus is not None:
            self.bus.publish(change)
        try:
            self.fold.fold_change(change)
        except Exception as exc:  # the events are stored; the catch-up folds them later
            log.warning("fresh recommendations: fold-in after commit failed: %s", exc)
