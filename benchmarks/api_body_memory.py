"""Server memory under a huge request body with no key (issue 10, item 4).

Starts the real ``tailored serve`` on a temporary SQLite store (``python -m tailored`` with
``--src`` first on its path, so the same script measures any checkout), then, for each way a
client can send a body, posts 400 MiB of junk to ``/v1/batch`` without any key over one raw
socket and samples the server's resident memory (``VmRSS`` from /proc) every 20 ms:

declared   ``Content-Length: 419430400`` sent honestly, the body streamed after it.
chunked    ``Transfer-Encoding: chunked``, no length: only the bytes that arrive tell.

It reports, per variant, the server's memory before, its peak while the body was being sent
and after, the status the client got (or the error, when the server closed the connection
while the client was still sending), how much of the body the client managed to send, and
how long it took. A server that reads only up to the 500 KB batch limit stays flat.

    python benchmarks/api_body_memory.py
    PYTHONPATH= python benchmarks/api_body_memory.py --src ../other-checkout/src --json
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from ingest_throughput import git_revision, machine  # noqa: E402

HOST = "127.0.0.1"
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process now, in MB (10^6 bytes)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return float("nan")


class Sampler(threading.Thread):
    """Keeps the highest VmRSS of ``pid`` seen while running."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def stop(self) -> float:
        self.done.set()
        self.join()
        return max(self.peak, rss_mb(self.pid))


def start_server(src: Path, db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONUNBUFFERED": "1"}
    env.pop("TAILORED_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tailored", "--db", f"sqlite:///{db}", "serve",
         "--host", HOST, "--port", str(port)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tailored serve exited:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1):
            return proc
        time.sleep(0.1)
    raise RuntimeError("tailored serve did not start within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # our own server's group only
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def send_huge_body(port: int, size: int, chunked: bool) -> dict[str, Any]:
    """POST ``size`` bytes with no key; what the client saw."""
    head = [b"POST /v1/batch HTTP/1.1", f"Host: {HOST}:{port}".encode(),
            b"Content-Type: text/plain"]
    head.append(b"Transfer-Encoding: chunked" if chunked else
                f"Content-Length: {size}".encode())
    piece = b"x" * MIB
    sent = 0
    error = None
    started = time.perf_counter()
    with socket.create_connection((HOST, port), 10) as s:
        s.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        try:
            while sent < size:
                data = piece[: size - sent]
                s.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except OSError as exc:  # the server answered and closed while we were sending
            error = type(exc).__name__
        s.settimeout(30)
        reply = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in reply:
                more = s.recv(65536)
                if not more:
                    break
                reply += more
    status = int(reply.split()[1]) if reply.startswith(b"HTTP/") else None
    return {"status": status, "send_error": error, "sent_mib": round(sent / MIB, 1),
            "seconds": round(time.perf_counter() - started, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", default=str(ROOT / "src"),
                   help="the src folder of the checkout to measure (default: this one)")
    p.add_argument("--mib", type=int, default=400, help="body size in MiB (default 400)")
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.add_argument("--out", default=str(HERE / "results" / "api_body_memory.jsonl"),
                   help="append the result as a JSON line here ('' for nowhere)")
    args = p.parse_args(argv)

    started = datetime.now(UTC)
    before = machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="tailored-bench-") as tmp:
        for variant in ("declared", "chunked"):
            port = free_port()
            proc = start_server(Path(args.src), Path(tmp) / f"{variant}.db", port,
                                Path(tmp) / f"{variant}.log")
            try:
                time.sleep(1.0)  # let start-up settle
                rss_before = rss_mb(proc.pid)
                sampler = Sampler(proc.pid)
                sampler.start()
                seen = send_huge_body(port, args.mib * MIB, chunked=variant == "chunked")
                peak = sampler.stop()
                time.sleep(0.5)
                results.append({"variant": variant, "rss_before_mb": round(rss_before),
                                "rss_peak_mb": round(peak),
                                "rss_after_mb": round(rss_mb(proc.pid)), **seen})
            finally:
                stop_server(proc)
    record = {
        "benchmark": "api_body_memory",
        "date": started.isoformat(timespec="seconds"),
        "command": "python benchmarks/api_body_memory.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "git": git_revision(), "src": args.src,
        "machine": {**before, "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "params": {"mib": args.mib},
        "results": results,
    }
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "ab") as f:
            f.write(orjson.dumps(record) + b"\n")
    if args.json:
        sys.stdout.write(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    print(f"{'variant':<10}{'RSS before':>12}{'peak':>8}{'after':>8}{'status':>8}"
          f"{'sent MiB':>10}{'seconds':>9}  send error")
    for r in results:
        print(f"{r['variant']:<10}{r['rss_before_mb']:>9} MB{r['rss_peak_mb']:>5} MB"
              f"{r['rss_after_mb']:>5} MB{r['status']!s:>8}{r['sent_mib']:>10}"
              f"{r['seconds']:>9}  {r['send_error'] or ''}")
    if args.out:
        print(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
