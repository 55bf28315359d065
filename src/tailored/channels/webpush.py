"""Web push (RFC 8030) with VAPID (RFC 8292): one message to every browser a person
subscribed from, through each browser's push service.

The payload is JSON (``title``, ``body``, ``url``, ``campaign``, ``message_id``) for the
page's service worker, encrypted for the subscription (RFC 8291, aes128gcm) and signed with
our VAPID key by pywebpush. What the push services answer decides the outcome: one 2xx is
enough for ``sent``; 404 or 410 means that subscription expired, so its row is deleted, and
``gone`` when none is left; 429, 5xx, a refused connection or a timeout ``retry``; any other
4xx ``failed``.

Subscriptions are stored one per endpoint (the row id is the SHA-256 of the endpoint), under
the person whose identity the browser posted them with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from pywebpush import WebPushException, webpush

from tailored.channels.base import Outcome, OutgoingMessage
from tailored.channels.vapid import vapid_key, vapid_subject
from tailored.errors import InvalidInput, NotFound
from tailored.store.tables import identities, profiles, push_subscriptions
from tailored.store.writes import upsert

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = [
    "MAX_PAYLOAD",
    "WebPushChannel",
    "check_subscription",
    "html_to_text",
    "payload",
    "subscribe",
    "unsubscribe_endpoint",
]

#: The most plaintext one aes128gcm record holds within the 4096 bytes every push service
#: must accept (RFC 8291 §4: 4096 - 86 header - 16 tag - 1 delimiter).
MAX_PAYLOAD = 3993


# -- subscriptions -----------------------------------------------------------------------

def _decoded(value: str, size: int, field: str) -> None:
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or (field.endswith("p256dh") and raw[:1] != b"\x04"):
        what = ("an uncompressed P-256 point (65 bytes, 0x04 first)" if size == 65
                else f"{size} bytes")
        raise InvalidInput(f"{field} must be base64url of {what}", field=field)


def check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    """The PushSubscription as a browser makes it, or :class:`InvalidInput` naming the part."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidInput("subscription.endpoint must be the https:// URL of a push service",
                           field="subscription.endpoint")
    _decoded(p256dh, 65, "subscription.keys.p256dh")
    _decoded(auth, 16, "subscription.keys.auth")


def _person(conn: sa.Connection, store: Store, user_id: str | None,
            anonymous_id: str | None) -> str:
    # Only the kind of id the request named, never another kind that happens to be equal.
    for kind, value in (("user_id", user_id), ("anonymous_id", anonymous_id)):
        if value:
            pid = conn.scalar(sa.select(identities.c.profile_id).where(
                identities.c.kind == kind,
                identities.c.value == store.personal.protect_identity(kind, value)))
            if pid is not None:
                return str(pid)
    named = " or ".join(f"{k} {v!r}" for k, v in (("userId", user_id),
                                                   ("anonymousId", anonymous_id)) if v)
    raise NotFound(f"no person with {named}: send an identify or a page call with it first")


def subscribe(store: Store, *, endpoint: str, p256dh: str, auth: str,
              user_id: str | None = None, anonymous_id: str | None = None,
              user_agent: str | None = None) -> dict[str, str]:
    """Keep a browser's subscription under the person it was posted for (the user id, else
    the anonymous id): ``{"id", "profile_id"}``. An endpoint seen before moves to them."""
    if not user_id and not anonymous_id:
        raise InvalidInput("userId or anonymousId is required", field="userId")
    check_subscription(endpoint, p256dh, auth)
    sid = hashlib.sha256(endpoint.encode()).hexdigest()
    with store.transaction() as conn:
        pid = _person(conn, store, user_id, anonymous_id)
        upsert(conn, push_subscriptions, [{
            "id": sid, "profile_id": pid, "endpoint": endpoint, "p256dh": p256dh,
            "auth": auth, "user_agent": user_agent, "created_at": datetime.now(UTC),
            "last_used_at": None}], ["id"], keep=("created_at",))
    return {"id": sid, "profile_id": pid}


def unsubscribe_endpoint(store: Store, endpoint: str) -> bool:
    """Forget the subscription of ``endpoint``; whether there was one."""
    sid = hashlib.sha256(endpoint.encode()).hexdigest()
    with store.transaction() as conn:
        return bool(conn.execute(push_subscriptions.delete()
                                 .where(push_subscriptions.c.id == sid)).rowcount)


def _subscriptions_of(conn: sa.Connection, profile_id: str) -> list[Any]:
    """The person's subscriptions, over their profile and every profile merged into it."""
    canonical = conn.scalar(sa.select(profiles.c.merged_into)
                            .where(profiles.c.profile_id == profile_id)) or profile_id
    ids = [canonical, *conn.scalars(sa.select(profiles.c.profile_id)
                                    .where(profiles.c.merged_into == canonical))]
    return list(conn.execute(sa.select(push_subscriptions)
                             .where(push_subscriptions.c.profile_id.in_(ids))
                             .order_by(push_subscriptions.c.created_at)))


# -- the payload -------------------------------------------------------------------------

class _Text(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                        "ul", "ol", "table", "blockquote", "section", "article", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The words of an HTML message, a line per block, without markup or scripts."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def payload(message: OutgoingMessage) -> str:
    """The JSON the service worker gets, its body cut to fit one push message."""
    rendered = message.rendered
    body = rendered.text if rendered.text is not None else html_to_text(rendered.html)
    doc = {"title": rendered.subject, "body": body, "url": message.data.get("click_url"),
           "campaign": message.campaign, "message_id": message.message_id}
    def encoded(n: int | None) -> str:
        cut = body if n is None else body[:n].rstrip() + "…"
        return json.dumps({**doc, "body": cut}, ensure_ascii=False)

    if len(encoded(None).encode()) <= MAX_PAYLOAD:
        return encoded(None)
    # The longest start of the body that fits (escaping and UTF-8 make bytes not chars).
    low, high = 0, len(body)
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if len(encoded(mid).encode()) <= MAX_PAYLOAD else (low, mid - 1)
    return encoded(low)


# -- the channel -------------------------------------------------------------------------

class WebPushChannel:
    """Sends to each of a person's subscriptions over one HTTP session."""

    name = "push"

    def __init__(self, store: Store, settings: Settings, *, ttl_seconds: int = 86_400,
                 timeout: float = 10.0) -> None:
        self.store = store
        #: How long a push service keeps a message for a browser that is offline.
        self.ttl_seconds = ttl_seconds
        self.timeout = timeout
        # Both refused here, before any message, when push is not configured.
        self._subject = vapid_subject(settings)
        self._key = vapid_key(store, settings)
        self._session: requests.Session | None = None

    def __enter__(self) -> WebPushChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def send(self, message: OutgoingMessage) -> Outcome:
        with self.store.reading() as conn:
            subscriptions = _subscriptions_of(conn, message.profile_id)
        if not subscriptions:
            return Outcome("gone", "no push subscription")
        data = payload(message)
        if self._session is None:
            self._session = requests.Session()
        answers = {row.id: self._push(row, data) for row in subscriptions}
        sent = [sid for sid, (status, _) in answers.items() if status == "sent"]
        gone = [sid for sid, (status, _) in answers.items() if status == "gone"]
        if gone or sent:
            with self.store.transaction() as conn:
                if gone:  # expired: the browser made a new one or the person revoked it
                    conn.execute(push_subscriptions.delete()
                                 .where(push_subscriptions.c.id.in_(gone)))
                if sent:
                    conn.execute(push_subscriptions.update()
                                 .where(push_subscriptions.c.id.in_(sent))
                                 .values(last_used_at=datetime.now(UTC)))
        if sent:
            return Outcome("sent")
        errors = "; ".join(error for _, error in answers.values() if error)
        for status in ("retry", "failed"):
            if any(s == status for s, _ in answers.values()):
                return Outcome(status, errors)
        return Outcome("gone", errors)

    def _push(self, row: Any, data: str) -> tuple[str, str | None]:
        """``(outcome, error)`` for one subscription."""
        # The origin only: the endpoint's path is the subscription's capability.
        where = f"{urlsplit(row.endpoint).scheme}://{urlsplit(row.endpoint).netloc}"
        info = {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}}
        try:
            webpush(info, data, vapid_private_key=self._key,
                    vapid_claims={"sub": self._subject}, ttl=self.ttl_seconds,
                    timeout=self.timeout, requests_session=self._session)
        except WebPushException as exc:
            code = exc.status_code
            if code is None:  # refused before sending (a key the library cannot use)
                return "failed", f"{where}: {exc.message}"
            reason = f"{where}: HTTP {code}"
            if code in (404, 410):
                return "gone", f"{reason} (subscription expired)"
            if code == 429 or code >= 500:
                return "retry", reason
            if 200 <= code < 300:
                return "sent", None
            return "failed", f"{reason} {(exc.response.text or '')[:200]}".rstrip()
        except requests.RequestException as exc:  # refused, reset, timed out
            return "retry", f"{where}: {type(exc).__name__}"
        return "sent", None
