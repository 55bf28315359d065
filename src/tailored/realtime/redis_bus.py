"""The bus over Redis Streams: several processes share the work, and each sees broadcasts.

Changes go on one stream (``<prefix>:changes``, bounded with ``MAXLEN ~``) read through one
consumer group: each entry is handled by one process, acknowledged (``XACK``) after it is,
and a process that died with entries pending has them taken over (``XAUTOCLAIM``) by another
once they have been idle long enough. Broadcasts go on a second stream that each process
reads whole (``XREAD``, no group). Entries hold ids only (see
:class:`~tailored.realtime.changes.Change`).

Redis being away never stops ingestion: a publish that fails logs one line and the bus
stops trying for a few seconds; when Redis answers again it adds one *resync* entry, so
consumers catch up from the store on what the stream missed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import orjson

from tailored.errors import InvalidInput
from tailored.extras import require
from tailored.realtime.bus import Broadcast, Delivery
from tailored.realtime.changes import Change

__all__ = ["RedisBus"]

log = logging.getLogger("tailored.realtime")

GROUP = "tailored-consumers"


class RedisBus:
    """A :class:`~tailored.realtime.bus.Bus` on Redis Streams."""

    def __init__(self, url: str, *, prefix: str = "tailored", maxlen: int = 100_000,
                 claim_idle_ms: int = 30_000, retry_seconds: float = 2.0,
                 consumer: str | None = None, timeout: float = 1.0) -> None:
        redis = require("redis", "redis")
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout)
        self.url = url
        self.stream = f"{prefix}:changes"
        self.broadcasts = f"{prefix}:broadcast"
        self.maxlen = maxlen
        self.claim_idle_ms = claim_idle_ms
        self.retry_seconds = retry_seconds
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._down_until = 0.0
        self._missed = False
        self._lock = threading.Lock()
        self._group_ready = False
        self._broadcast_from = "$"
        self._claim_from = "0-0"
        self._last_claim = 0.0

    def __str__(self) -> str:
        return f"Redis at {_safe(self.url)}"

    # -- publishing ------------------------------------------------------------------------

    def _down(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + self.retry_seconds
            self._missed = True
        if first:
            log.error("Redis unavailable at %s (%s): ingestion goes on; consumers catch up "
                      "from the store when it is back", _safe(self.url), _one_line(exc))

    def publish(self, change: Change) -> None:
        self.publish_now(change)

    def publish_now(self, change: Change) -> bool:
        """Publish; False when Redis could not take it (logged once an outage)."""
        if not change:
            return True
        with self._lock:
            if self._down_until and time.monotonic() < self._down_until:
                self._missed = True
                return False
            missed = self._missed
        try:
            pipe = self.client.pipeline(transaction=False)
            if missed:
                pipe.xadd(self.stream, {"c": Change(resync=True).to_json()},
                          maxlen=self.maxlen, approximate=True)
            body = change.to_json()
            pipe.xadd(self.stream, {"c": body}, maxlen=self.maxlen, approximate=True)
            # Every serving process sees every change (model fold-in), not a share.
            pipe.xadd(self.broadcasts, {"t": b"change", "b": body}, maxlen=self.maxlen,
                      approximate=True)
            pipe.execute()
        except self._errors as exc:
            self._down(exc)
            return False
        with self._lock:
            if self._down_until:
                log.warning("Redis is back at %s", _safe(self.url))
            self._down_until = 0.0
            self._missed = False
        return True

    def broadcast(self, topic: str, body: dict[str, Any]) -> None:
        try:
            self.client.xadd(self.broadcasts, {"t": topic.encode(), "b": orjson.dumps(body)},
                             maxlen=self.maxlen, approximate=True)
        except self._errors as exc:
            self._down(exc)

    # -- reading ---------------------------------------------------------------------------

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # From the start of what the stream holds: a group made after changes were
            # published still hands them out (the store has them anyway).
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except self._errors as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _delivery(self, entry_id: bytes, fields: dict[bytes, bytes]) -> Delivery:
        def ack() -> None:
            try:
                self.client.xack(self.stream, GROUP, entry_id)
            except self._errors as exc:  # it will be handed out again: handling is idempotent
                self._down(exc)
        try:
            change = Change.from_json(fields[b"c"])
        except (KeyError, InvalidInput):
            change = Change(resync=True)  # not ours to read: catch up from the store
        return Delivery(change, ack)

    def read(self, timeout: float) -> list[Delivery]:
        """Entries for this process: a dead consumer's (idle too long), then new ones."""
        self._ensure_group()
        out: list[Delivery] = []
        now = time.monotonic()
        if now - self._last_claim >= self.claim_idle_ms / 2000:
            self._last_claim = now
            result = self.client.xautoclaim(self.stream, GROUP, self.consumer,
                                            min_idle_time=self.claim_idle_ms,
                                            start_id=self._claim_from, count=500)
            self._claim_from = result[0]
            out += [self._delivery(i, f) for i, f in result[1] if f]
            if out:
                log.warning("took over %d pending change(s) of a stopped consumer", len(out))
        block = max(1, int(timeout * 1000)) if not out else None
        streams = self.client.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=500,
                                         block=block)
        for _, entries in streams or []:
            out += [self._delivery(i, f) for i, f in entries]
        return out

    def read_broadcasts(self, timeout: float) -> list[Broadcast]:
        streams = self.client.xread({self.broadcasts: self._broadcast_from}, count=1000,
                                    block=max(1, int(timeout * 1000)))
        out: list[Broadcast] = []
        for _, entries in streams or []:
            for entry_id, fields in entries:
                self._broadcast_from = entry_id
                try:
                    out.append(Broadcast(fields[b"t"].decode(), orjson.loads(fields[b"b"])))
                except (KeyError, orjson.JSONDecodeError, UnicodeDecodeError):
                    continue
        return out

    def pending(self) -> int:
        """Entries handed out and not yet acknowledged (all consumers of the group)."""
        self._ensure_group()
        info = self.client.xpending(self.stream, GROUP)
        return int(info["pending"])

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()


def _safe(url: str) -> str:
    """A Redis URL without its password."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
