"""A real SMTP server for the tests (aiosmtpd, in a thread), which keeps what it received
and can be told to refuse chosen recipients (4xx or 5xx) or to go away."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["SmtpServer", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        answer = self.server.refuse.get(address)
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.delay:
            time.sleep(self.server.delay)  # a slow server (blocks its own loop only)
        with self.server.lock:
            for rcpt in envelope.rcpt_tos:
                self.server.received.append(
                    (rcpt, message_from_bytes(envelope.content)))  # type: ignore[arg-type]
        return "250 Message accepted"


class SmtpServer:
    """``with SmtpServer() as smtp:`` — ``smtp.url``, ``smtp.received`` [(to, message)],
    ``smtp.refuse[address] = "550 No such user"``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[tuple[str, Message]] = []
        self.refuse: dict[str, str] = {}
        self.delay = 0.0
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def to(self) -> list[str]:
        with self.lock:
            return [rcpt for rcpt, _ in self.received]
