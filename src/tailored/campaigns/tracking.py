"""Opens and clicks: a pixel and redirecting links in each e-mail, with signed tokens.

Each link of a sent HTML message is rewritten to ``{public_url}/v1/t/c/{token}``, the token
signing the message's outbox row and the link's own URL: a click redirects only to a URL
that was in that message (the signature covers it), never to one a caller supplies. The
pixel is ``{public_url}/v1/t/o/{token}``. Both become events in the person's history
(``Email Opened``, ``Email Link Clicked``; ``Push Clicked`` from a push notification's
click) carrying the campaign and variant.

Machines open and click too, and are recorded but flagged (``machine: true`` with a
``machine_reason``) and left out of the report's rates: privacy proxies that fetch every
image (Apple Mail Privacy Protection, Gmail's image proxy, Yahoo's), security scanners that
follow every link (a click within ``SCANNER_SECONDS`` of delivery, a known scanner's user
agent, or a click on the hidden honeypot link no person can see).
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.campaigns.history import record_event
from tailored.campaigns.signing import DEFAULT_PUBLIC_URL, Signer, signing_key
from tailored.errors import InvalidInput
from tailored.store.tables import outbox

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["PIXEL_GIF", "SCANNER_SECONDS", "Tracker", "machine_reason", "record_click",
           "record_open"]

#: A click this soon after delivery is a link scanner's, not a person's.
SCANNER_SECONDS = 10.0
#: How long tracking links work.
TRACKING_MAX_AGE_SECONDS = 400 * 24 * 3600
#: The smallest transparent GIF.
PIXEL_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01"
             b"\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
HONEYPOT_URL = "https://example.invalid/do-not-follow"

_PROXY_AGENTS = ("googleimageproxy", "yahoomailproxy", "ymailproxy", "outlook-iosandroid")
_SCANNER_AGENTS = ("bot", "spider", "crawler", "scanner", "barracuda", "proofpoint",
                   "mimecast", "python-requests", "curl/", "wget/", "go-http-client",
                   "headlesschrome", "microsoft office protocol discovery")
_HREF = re.compile(r'(<a\b[^>]*?\bhref\s*=\s*)(["\'])(https?://[^"\']+)\2', re.IGNORECASE)


def machine_reason(kind: str, user_agent: str | None, *, seconds_since_sent: float | None,
                   honeypot: bool = False) -> str | None:
    """Why an open or click looks like a machine's; None when it looks like a person's."""
    agent = (user_agent or "").lower()
    if honeypot:
        return "honeypot link"
    if kind == "open":
        if any(p in agent for p in _PROXY_AGENTS):
            return "image proxy"
        # Apple Mail Privacy Protection fetches through proxies presenting this bare agent.
        if agent.strip() == "mozilla/5.0":
            return "mail privacy proxy"
    if any(s in agent for s in _SCANNER_AGENTS):
        return "scanner user agent"
    if kind == "click" and seconds_since_sent is not None \
            and seconds_since_sent < SCANNER_SECONDS:
        return f"clicked within {SCANNER_SECONDS:g} s of delivery"
    if not agent:
        return "no user agent"
    return None


class Tracker:
    """Makes the tracking links of one store's messages."""

    def __init__(self, store: Store, settings: Settings) -> None:
        key = signing_key(store, settings)
        self.base = settings.public_url or DEFAULT_PUBLIC_URL
        self.clicks = Signer(key, "click")
        self.opens = Signer(key, "open")

    def click_url(self, outbox_id: int, url: str, *, honeypot: bool = False) -> str:
        payload: dict[str, Any] = {"o": outbox_id, "u": url}
        if honeypot:
            payload["h"] = 1
        return f"{self.base}/v1/t/c/{self.clicks.sign(payload)}"

    def open_url(self, outbox_id: int) -> str:
        return f"{self.base}/v1/t/o/{self.opens.sign({'o': outbox_id})}"

    def instrument(self, html: str, outbox_id: int, *, keep: tuple[str, ...] = ()) -> str:
        """The HTML with its links tracked (but those in ``keep``: the unsubscribe link
        goes straight to its page), a hidden honeypot link and the open pixel."""

        def wrap(match: re.Match[str]) -> str:
            url = html_lib.unescape(match.group(3))
            if url in keep or url.startswith(self.base + "/v1/"):
                return match.group(0)
            tracked = html_lib.escape(self.click_url(outbox_id, url), quote=True)
            return f"{match.group(1)}{match.group(2)}{tracked}{match.group(2)}"

        body = _HREF.sub(wrap, html)
        trap = html_lib.escape(self.click_url(outbox_id, HONEYPOT_URL, honeypot=True))
        extra = (f'<a href="{trap}"'
                 ' style="display:none" aria-hidden="true" tabindex="-1"></a>'
                 f'<img src="{html_lib.escape(self.open_url(outbox_id))}" width="1" height="1"'
                 ' alt="" style="display:block;border:0">')
        at = body.lower().rfind("</body>")
        return body[:at] + extra + body[at:] if at >= 0 else body + extra


def _row(store: Store, outbox_id: Any) -> Any:
    if not isinstance(outbox_id, int):
        raise InvalidInput("the tracking link is not valid", field="token")
    with store.reading() as conn:
        row = conn.execute(sa.select(outbox).where(outbox.c.id == outbox_id)).first()
    if row is None:
        raise InvalidInput("the tracking link names no message we keep (erased?)",
                           field="token")
    return row


def _since_sent(row: Any, now: datetime) -> float | None:
    return (now - row.sent_at).total_seconds() if row.sent_at is not None else None


def record_open(store: Store, settings: Settings, token: str, *, user_agent: str | None,
                now: datetime | None = None) -> dict[str, Any]:
    """An open pixel was fetched: an ``Email Opened`` event (flagged when a machine's), and
    the message counted opened unless a machine opened it."""
    payload = Signer(signing_key(store, settings), "open").read(
        token, max_age_seconds=TRACKING_MAX_AGE_SECONDS)
    row = _row(store, payload.get("o"))
    now = now or datetime.now(UTC)
    reason = machine_reason("open", user_agent, seconds_since_sent=_since_sent(row, now))
    if reason is None and row.opened_at is None:
        with store.transaction() as conn:
            conn.execute(outbox.update().where(outbox.c.id == row.id,
                                               outbox.c.opened_at.is_(None))
                         .values(opened_at=now))
    props = {"campaign": row.campaign, "variant": row.variant, "outbox_id": row.id,
             "channel": row.channel, "machine": reason is not None, "machine_reason": reason}
    record_event(store, row.profile_id, "Email Opened", props,
                 message_id=f"open:{row.id}:{now.isoformat()}", at=now)
    return props


def record_click(store: Store, settings: Settings, token: str, *, user_agent: str | None,
                 now: datetime | None = None) -> str:
    """A tracked link was followed: the URL it leads to (the one signed in the token), after
    recording an ``Email Link Clicked`` (or ``Push Clicked``) event."""
    payload = Signer(signing_key(store, settings), "click").read(
        token, max_age_seconds=TRACKING_MAX_AGE_SECONDS)
    url = payload.get("u")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput("the tracking link is not valid", field="token")
    row = _row(store, payload.get("o"))
    now = now or datetime.now(UTC)
    honeypot = payload.get("h") == 1
    reason = machine_reason("click", user_agent, seconds_since_sent=_since_sent(row, now),
                            honeypot=honeypot)
    if reason is None and row.clicked_at is None:
        with store.transaction() as conn:
            conn.execute(outbox.update().where(outbox.c.id == row.id,
                                               outbox.c.clicked_at.is_(None))
                         # A click is an open too (images may be blocked).
                         .values(clicked_at=now,
                                 opened_at=sa.func.coalesce(outbox.c.opened_at, now)))
    event = "Push Clicked" if row.channel == "push" else "Email Link Clicked"
    record_event(store, row.profile_id, event,
                 {"campaign": row.campaign, "variant": row.variant, "outbox_id": row.id,
                  "url": url, "channel": row.channel, "machine": reason is not None,
                  "machine_reason": reason},
                 message_id=f"click:{row.id}:{now.isoformat()}", at=now)
    return url
