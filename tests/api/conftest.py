"""A real ``tailored serve`` in a subprocess, for tests that need the whole server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class Served:
    url: str
    db: str
    log: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> str:
        """Stop the server; everything it wrote to stdout and stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.log.read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start ``tailored serve`` on a free port of 127.0.0.1 with a SQLite store in tmp_path;
    waits for /health. Extra CLI options and environment variables may be given."""
    started: list[Served] = []

    def start(*options: str, env: dict[str, str] | None = None) -> Served:
        db = f"sqlite:///{tmp_path / 'store.db'}"
        port = free_port()
        environ = {**os.environ, "NO_COLOR": "1", **(env or {})}
        environ.pop("TAILORED_DATABASE_URL", None)
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tailored", "--db", db, "serve", "--host", "127.0.0.1",
                 "--port", str(port), *options], stdout=out, stderr=subprocess.STDOUT,
                env=environ, start_new_session=True)
        served = Served(f"http://127.0.0.1:{port}", db, log, proc)
        started.append(served)
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{served.url}/health", timeout=2).status_code == 200:
                    return served
            assert time.monotonic() < deadline, "tailored serve did not start:\n" + (
                log.read_text())
            time.sleep(0.1)

    yield start
    for served in started:
        served.stop()
