"""Sending the outbox: a signed JSON POST per delivery, retried with back-off, then parked.

A delivery is sent until the receiver answers 2xx (at least once: the same
``X-Tailored-Delivery`` id every time, for the receiver to de-duplicate on). A timeout, a
connection error or any other answer is a failure: due again after ``backoff * 2**(n-1)``
seconds (capped), and parked after ``max_attempts`` (``tailored webhook list`` shows it).
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tailored import __version__
from tailored.realtime.webhooks.outbox import (
    claim,
    due_rows,
    record_failure,
    record_success,
)
from tailored.realtime.webhooks.registry import hooks_of
from tailored.realtime.webhooks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["DeliveryPolicy", "configure", "deliver_due", "policy", "post", "start_background",
           "stop_background", "wake"]

log = logging.getLogger("tailored.realtime")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are attempted."""

    timeout_seconds: float = 5.0
    max_attempts: int = 8
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 600.0
    lease_seconds: float = 60.0

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failures; None: park it."""
        if attempts >= self.max_attempts:
            return None
        wait = min(self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds)
        return now + timedelta(seconds=wait)


_POLICY = DeliveryPolicy()


def configure(new: DeliveryPolicy) -> None:
    """Set the process's delivery policy (the settings' webhook_* values)."""
    global _POLICY
    _POLICY = new


def policy() -> DeliveryPolicy:
    return _POLICY


def post(url: str, body: bytes, secret: str, delivery_id: str, timeout: float
         ) -> str | None:
    """POST one delivery; None when the receiver took it (2xx), else the error's line."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": f"Tailored/{__version__}",
        SIGNATURE_HEADER: sign(secret, body), DELIVERY_HEADER: delivery_id})
    try:  # http(s) only: add_webhook checks the URL
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except TimeoutError:
        return f"timed out after {timeout:g} s"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"timed out after {timeout:g} s" if isinstance(reason, TimeoutError) \
            else f"cannot connect: {reason}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver_due(store: Store, now: datetime | None = None, *, limit: int = 200
                ) -> dict[str, int]:
    """Attempt every delivery that is due; counts of sent, failed (to retry) and parked."""
    pol = _POLICY
    counts = {"sent": 0, "failed": 0, "parked": 0}
    now = now or datetime.now(UTC)
    hooks = {h.id: h for h in hooks_of(store, fresh=True)}
    for row in due_rows(store, now, limit):
        hook = hooks.get(row.webhook_id)
        if hook is None or not claim(store, row.id, now,
                                     timedelta(seconds=pol.lease_seconds)):
            continue
        attempts = int(row.attempts) + 1
        error = post(hook.url, row.body.encode(), hook.secret, row.id, pol.timeout_seconds)
        if error is None:
            record_success(store, row.id, attempts)
            counts["sent"] += 1
            continue
        retry_at = pol.retry_at(attempts, datetime.now(UTC))
        record_failure(store, row.id, attempts, error, retry_at)
        if retry_at is None:
            counts["parked"] += 1
            log.error("webhook %s: delivery %s parked after %d tries: %s", hook.id, row.id,
                      attempts, error)
        else:
            counts["failed"] += 1
            log.warning("webhook %s: delivery %s failed (try %d): %s", hook.id, row.id,
                        attempts, error)
    return counts


class _Background:
    """A thread per process that sends deliveries as they are queued and when due."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.wakeup = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tailored-webhooks",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.wakeup.clear()
            try:
                counts = deliver_due(self.store)
                busy = any(counts.values())
            except Exception as exc:  # the store away: try again shortly
                log.error("webhooks: delivery pass failed: %s", exc)
                busy = False
            if not busy:
                self.wakeup.wait(1.0)


_BACKGROUND: dict[int, _Background] = {}
_LOCK = threading.Lock()


def start_background(store: Store) -> None:
    """Send deliveries from a thread of this process (a worker or a server running)."""
    with _LOCK:
        if id(store) not in _BACKGROUND:
            _BACKGROUND[id(store)] = _Background(store)


def wake(store: Store) -> bool:
    """Nudge the background sender; False when this process has none (send inline)."""
    with _LOCK:
        bg = _BACKGROUND.get(id(store))
    if bg is None:
        return False
    bg.wakeup.set()
    return True


def stop_background(store: Store | None = None, timeout: float = 10.0) -> None:
    with _LOCK:
        stopping = [bg for key, bg in _BACKGROUND.items()
                    if store is None or key == id(store)]
        for bg in stopping:
            _BACKGROUND.pop(id(bg.store), None)
    for bg in stopping:
        bg.stop.set()
        bg.wakeup.set()
        bg.thread.join(timeout)
