"""E-mail over SMTP (smtplib): one connection for many messages, each with a stable
``Message-ID`` and RFC 8058 one-click unsubscribe headers.

``TAILORED_SMTP_URL``: ``smtp://[user:password@]host[:port]`` (port 25 by default; STARTTLS
whenever the server offers it, and required before a password is sent to anyone but this
machine) or ``smtps://...`` (TLS from the first byte, port 465). What the server answers
decides the outcome: 2xx sent; 4xx, a refused or dropped connection or a timeout a
temporary failure (tried again later); 5xx for the recipient a bounce (the address is
suppressed); 5xx for the message itself a failure of that message only.
"""

from __future__ import annotations

import email.policy
import io
import smtplib
import ssl
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from tailored.channels.base import Outcome, OutgoingMessage
from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from tailored.config import Settings

__all__ = ["EmailChannel", "SmtpTarget", "build_message", "smtp_target"]

_LOCAL = ("127.0.0.1", "localhost", "::1")
# Lines end in CRLF as SMTP wants; a long header is never folded into RFC 2047 encoded
# words (a List-Unsubscribe URL so encoded is no URL to a mail client).
_POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=998)


class SmtpTarget:
    """Where and how to connect, from ``TAILORED_SMTP_URL``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise InvalidInput("smtp_url must be smtp://[user:password@]host[:port] or "
                               "smtps://...", field="smtp_url")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        try:
            self.port = parts.port or (465 if self.implicit_tls else 25)
        except ValueError:
            raise InvalidInput("smtp_url has a port that is not a number",
                               field="smtp_url") from None
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    def describe(self) -> str:  # never the password
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"


def smtp_target(settings: Settings) -> SmtpTarget:
    if settings.smtp_url is None:
        raise InvalidInput("e-mail needs an SMTP server: set TAILORED_SMTP_URL "
                           "(smtp://host:port, or smtps://user:password@host)",
                           field="smtp_url")
    return SmtpTarget(settings.smtp_url.get_secret_value())


def _header(value: str) -> str:
    """ASCII as it is; anything else as RFC 2047 encoded words (a subject in French)."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def _sender(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


def build_message(message: OutgoingMessage, *, sender: str) -> bytes:
    """The MIME message as bytes: text and HTML alternatives, the headers mail clients
    need. Built with the email package's classic MIME classes: the modern header registry
    parses every header back, a cost paid per message at tens of thousands a minute."""
    r = message.rendered
    mail: MIMEMultipart | MIMEText
    if r.text is not None:
        mail = MIMEMultipart("alternative")
        mail.attach(MIMEText(r.text, "plain", "utf-8"))
        mail.attach(MIMEText(r.html, "html", "utf-8"))
    else:
        mail = MIMEText(r.html, "html", "utf-8")
    mail["From"] = _sender(sender)
    mail["To"] = message.address or ""
    mail["Subject"] = _header(r.subject)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message.message_id
    # RFC 8058: a mail client's unsubscribe button POSTs to this URL, no page in between.
    mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["X-Tailored-Campaign"] = _header(message.campaign)
    out = io.BytesIO()
    BytesGenerator(out, policy=_POLICY).flatten(mail)
    return out.getvalue()


class EmailChannel:
    """Sends over one SMTP connection, reopened when the server drops it."""

    name = "email"

    def __init__(self, target: SmtpTarget, sender: str, *, timeout: float = 30.0) -> None:
        self.target = target
        self.sender = sender
        self._envelope_from = parseaddr(sender)[1]
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> EmailChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if t.implicit_tls:
            smtp = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif t.username and t.host not in _LOCAL:
                smtp.close()
                raise smtplib.SMTPNotSupportedError(
                    f"{t.describe()} offers no STARTTLS: the password is not sent in clear "
                    "(use smtps://)")
        if t.username:
            smtp.login(t.username, t.password or "")
        return smtp

    def send(self, message: OutgoingMessage) -> Outcome:
        if not message.address:
            return Outcome("failed", "no e-mail address")
        mail = build_message(message, sender=self.sender)
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            refused = self._smtp.sendmail(self._envelope_from, [message.address], mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return self._answer(code, reply, recipient=True)
        except smtplib.SMTPResponseException as exc:
            self._reset()
            return self._answer(exc.smtp_code, exc.smtp_error, recipient=False)
        except smtplib.SMTPNotSupportedError as exc:
            self.close()
            return Outcome("retry", str(exc))
        except (smtplib.SMTPException, OSError) as exc:
            # Refused, dropped or timed out: the next message opens a new connection.
            self._drop()
            return Outcome("retry", f"{self.target.describe()}: {exc or type(exc).__name__}")
        if refused:
            code, reply = next(iter(refused.values()))
            return self._answer(code, reply, recipient=True)
        return Outcome("sent")

    def _answer(self, code: int, reply: bytes | str, *, recipient: bool) -> Outcome:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        error = f"SMTP {code} {text}".strip()
        if 400 <= code < 500:
            return Outcome("retry", error)
        if recipient:
            return Outcome("bounced", error)
        return Outcome("failed", error)

    def _reset(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None
