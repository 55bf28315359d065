"""A real webhook receiver: a threaded http.server on a free port that checks signatures."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tailored.realtime.webhooks import verify

__all__ = ["Received", "Receiver"]


@dataclass
class Received:
    delivery: str
    signature: str
    body: bytes
    verified: bool

    @property
    def doc(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next of ``answers`` (an HTTP status, or "sleep" to answer
    only after ``sleep_seconds``), then 200; keeps what it received."""

    secret: str = ""
    answers: list[int | str] = field(default_factory=list)
    sleep_seconds: float = 2.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sig = self.headers.get("X-Tailored-Signature", "")
                receiver.received.append(Received(
                    self.headers.get("X-Tailored-Delivery", ""), sig, body,
                    bool(receiver.secret) and verify(receiver.secret, body, sig)))
                answer = receiver.answers.pop(0) if receiver.answers else 200
                if answer == "sleep":
                    time.sleep(receiver.sleep_seconds)
                    answer = 200
                self.send_response(int(answer))
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n: int, seconds: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.received) < n:
            assert time.monotonic() < deadline, f"{len(self.received)} of {n} received"
            time.sleep(0.01)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
