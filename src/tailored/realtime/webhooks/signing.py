"""The signature a receiver checks: ``X-Tailored-Signature: t=UNIX,v1=HEX``.

``v1`` is ``hex(HMAC-SHA256(secret, f"{t}.{body}"))`` over the exact bytes of the body;
``t`` (the sending time, seconds) lets a receiver refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["DELIVERY_HEADER", "SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Tailored-Signature"
DELIVERY_HEADER = "X-Tailored-Delivery"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body`` sent now (or at ``timestamp``)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: float = 300.0,
           now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance``
    seconds old: what a receiver runs (docs/realtime.md has it standalone)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
