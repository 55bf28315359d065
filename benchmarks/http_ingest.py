"""HTTP ingestion: the real ``tailored serve`` under load from a second process.

This script is the load generator. It creates a temporary SQLite store, makes a write key
with ``tailored keys create --json``, starts ``tailored serve --host 127.0.0.1 --port P``
(the installed console script, one uvicorn worker unless ``--workers``) as a subprocess,
waits for ``/docs``, and then measures over 127.0.0.1 only:

batch   events/s through ``POST /v1/batch`` with 100-event batches, sent by a few threads
        sharing one httpx connection pool (bounded: ``--batches`` batches or
        ``--batch-seconds`` seconds, whichever ends first). Target: 5,000 events/s.
track   latency of single ``POST /v1/track`` calls, one after another on one keep-alive
        connection, after a warm-up (p50/p95/p99/max). Target: p99 under 20 ms.

Request bodies are serialised before the clock starts; the write key goes as the Basic
auth user, as the Segment SDKs send it. The server's CPU time per phase is read from
/proc. The server is always stopped at the end, and the temporary store removed.

    .venv/bin/python benchmarks/http_ingest.py
    .venv/bin/python benchmarks/http_ingest.py --batches 100 --track 500 --json
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _events import _iso, generate_events  # noqa: E402
from ingest_throughput import git_revision, machine  # noqa: E402

TAILORED = ROOT / ".venv" / "bin" / "tailored"
HOST = "127.0.0.1"
TARGET_BATCH_RATE = 5_000
TARGET_TRACK_P99_MS = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def summary_ms(latencies: list[float]) -> dict[str, float | None]:
    s = sorted(x * 1000 for x in latencies)
    return {"p50_ms": round(percentile(s, 0.50), 2), "p95_ms": round(percentile(s, 0.95), 2),
            "p99_ms": round(percentile(s, 0.99), 2), "max_ms": round(s[-1], 2) if s else None,
            "mean_ms": round(statistics.fmean(s), 2) if s else None}


class Server:
    """``tailored serve`` in its own process group, stopped for sure on exit."""

    def __init__(self, db_url: str, port: int, workers: int, log: Path) -> None:
        self.url = f"http://{HOST}:{port}"
        self.log = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TAILORED_DATABASE_URL", None)
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(TAILORED), "--db", db_url, "serve", "--host", HOST, "--port", str(port),
             "--workers", str(workers)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tailored serve exited with {self.proc.returncode}:\n"
                                   + self.log.read_text()[-2000:])
            try:
                if httpx.get(self.url + "/docs", timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"tailored serve did not answer /docs within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Only our own server's process group (it was started in a new session).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


def run_batches(client: httpx.Client, url: str, bodies: list[bytes], threads: int,
                deadline_s: float) -> dict[str, Any]:
    """Send the bodies from ``threads`` threads until done or the deadline."""
    lock = threading.Lock()
    next_i = 0
    latencies: list[float] = []
    accepted = duplicates = rejected = events_sent = 0
    errors: list[str] = []
    stop_at = time.perf_counter() + deadline_s
    headers = {"content-type": "application/json"}

    def worker() -> None:
        nonlocal next_i, accepted, duplicates, rejected, events_sent
        while True:
            with lock:
                if next_i >= len(bodies) or time.perf_counter() >= stop_at:
                    return
                i = next_i
                next_i += 1
            t0 = time.perf_counter()
            try:
                resp = client.post(url, content=bodies[i], headers=headers)
            except httpx.HTTPError as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if resp.status_code == 200:
                    r = resp.json()
                    accepted += r["accepted"]
                    duplicates += r["duplicates"]
                    rejected += len(r["rejected"])
                    events_sent += r["accepted"] + r["duplicates"] + len(r["rejected"])
                else:
                    errors.append(f"HTTP {resp.status_code}: {resp.text[:200]}")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - t0
    return {"batches": len(latencies), "events": events_sent, "accepted": accepted,
            "duplicates": duplicates, "rejected": rejected, "errors": len(errors),
            "first_errors": errors[:3], "seconds": round(seconds, 3),
            "events_per_s": round(events_sent / seconds) if seconds else 0,
            "batch_latency": summary_ms(latencies),
            "stopped_by_deadline": len(latencies) + len(errors) < len(bodies)}


def run_tracks(client: httpx.Client, url: str, bodies: list[bytes], warmup: int
               ) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    latencies: list[float] = []
    errors: list[str] = []
    for i, body in enumerate(bodies):
        t0 = time.perf_counter()
        resp = client.post(url, content=body, headers=headers)
        dt = time.perf_counter() - t0
        if resp.status_code != 200 or resp.json()["accepted"] != 1:
            errors.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
        if i >= warmup:
            latencies.append(dt)
    return {"requests": len(latencies), "warmup": warmup, "errors": len(errors),
            "first_errors": errors[:3], **summary_ms(latencies),
            "requests_per_s": round(len(latencies) / sum(latencies)) if latencies else 0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, default=300, help="100-event batches to send (300)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--batch-seconds", type=float, default=60.0,
                   help="stop sending batches after this long (60)")
    p.add_argument("--threads", type=int, default=4, help="load-generator threads (4)")
    p.add_argument("--track", type=int, default=2000, help="timed single /v1/track calls")
    p.add_argument("--warmup", type=int, default=100, help="untimed /v1/track calls first")
    p.add_argument("--workers", type=int, default=1, help="tailored serve --workers (1)")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.add_argument("--out", default=str(HERE / "results" / "http.jsonl"),
                   help="append the result as a JSON line here ('' for nowhere)")
    args = p.parse_args(argv)

    def say(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    started = datetime.now(UTC)
    before = machine()
    # Bodies first, so that serialising them is not timed.
    n_batch_events = args.batches * args.batch_size
    warm = 3
    batch_events = generate_events((args.batches + warm) * args.batch_size, seed=args.seed)
    sent_at = _iso(datetime.now(UTC))
    bodies = [orjson.dumps({"batch": batch_events[i : i + args.batch_size], "sentAt": sent_at})
              for i in range(0, len(batch_events), args.batch_size)]
    warm_bodies, bodies = bodies[:warm], bodies[warm:]
    # Distinct messageIds: every timed call must store one new event (no re-deliveries).
    tracks = list({ev["messageId"]: ev for ev in generate_events(
        3 * (args.track + args.warmup) + 1000, seed=args.seed + 1)
        if ev["type"] == "track"}.values())
    if len(tracks) < args.track + args.warmup:
        raise SystemExit("not enough track events generated")
    track_bodies = [orjson.dumps(ev) for ev in tracks[: args.track + args.warmup]]

    tmp = Path(tempfile.mkdtemp(prefix="tailored-http-bench-"))
    db_url = f"sqlite:///{tmp}/bench.db"
    server: Server | None = None
    try:
        made = subprocess.run([str(TAILORED), "--db", db_url, "keys", "create", "--json"],
                              capture_output=True, text=True, check=True)
        key = orjson.loads(made.stdout)["key"]
        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        port = free_port()
        server = Server(db_url, port, args.workers, tmp / "serve.log")
        ready_s = server.wait_ready()
        say(f"tailored serve on {server.url} (pid {server.proc.pid}), ready in {ready_s:.1f} s")
        limits = httpx.Limits(max_connections=args.threads * 2,
                              max_keepalive_connections=args.threads * 2)
        with httpx.Client(base_url=server.url, headers={"authorization": auth}, limits=limits,
                          timeout=60) as client:
            for body in warm_bodies:
                client.post("/v1/batch", content=body,
                            headers={"content-type": "application/json"}).raise_for_status()
            say(f"batch: {args.batches} × {args.batch_size} events from {args.threads} threads …")
            cpu0 = cpu_seconds(server.proc.pid)
            batch = run_batches(client, "/v1/batch", bodies, args.threads, args.batch_seconds)
            batch["server_cpu_seconds"] = round(cpu_seconds(server.proc.pid) - cpu0, 2)
            batch["planned_events"] = n_batch_events
        with httpx.Client(base_url=server.url, headers={"authorization": auth},
                          timeout=30) as client:
            say(f"track: {args.warmup} warm-up + {args.track} sequential calls …")
            cpu0 = cpu_seconds(server.proc.pid)
            track = run_tracks(client, "/v1/track", track_bodies, args.warmup)
            track["server_cpu_seconds"] = round(cpu_seconds(server.proc.pid) - cpu0, 2)
        server_peak_rss = rss_mib(server.proc.pid)
        stats = orjson.loads(subprocess.run(
            [str(TAILORED), "--db", db_url, "stats", "--json"], capture_output=True,
            text=True, check=True).stdout)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    results: dict[str, Any] = {
        "batch": batch, "track": track, "server_peak_rss_mib": round(server_peak_rss, 1),
        "store_after": {k: stats.get(k) for k in ("events", "duplicates", "profiles", "merges")},
        "targets": {
            "batch_events_per_s_min": TARGET_BATCH_RATE,
            "batch_met": batch["events_per_s"] >= TARGET_BATCH_RATE and not batch["errors"],
            "track_p99_ms_max": TARGET_TRACK_P99_MS,
            "track_met": track["p99_ms"] < TARGET_TRACK_P99_MS and not track["errors"],
        },
    }
    record = {
        "benchmark": "http_ingest",
        "date": started.isoformat(timespec="seconds"),
        "command": "python benchmarks/http_ingest.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "git": git_revision(),
        "machine": {**before, "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "params": {k: getattr(args, k) for k in ("batches", "batch_size", "batch_seconds",
                                                  "threads", "track", "warmup", "workers",
                                                  "seed")},
        "results": results,
    }
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "ab") as f:
            f.write(orjson.dumps(record) + b"\n")
    if args.json:
        sys.stdout.write(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    t = results["targets"]
    b, k = batch, track
    print(f"{'measure':<34}{'value':>14}  target")
    print("-" * 66)
    print(f"{'POST /v1/batch events/s':<34}{b['events_per_s']:>14,}  ≥ {TARGET_BATCH_RATE:,}: "
          + ("met" if t["batch_met"] else "MISSED"))
    print(f"{'  batches, events, seconds':<34}{b['batches']:>5} {b['events']:>7,} "
          f"{b['seconds']:>6.1f} s; errors {b['errors']}")
    bl = b["batch_latency"]
    print(f"{'  batch latency p50/p95/p99 ms':<34}{bl['p50_ms']:>6.1f} / {bl['p95_ms']:.1f} / "
          f"{bl['p99_ms']:.1f}")
    print(f"{'  server CPU during batches':<34}{b['server_cpu_seconds']:>12.1f} s")
    print(f"{'POST /v1/track p50 ms':<34}{k['p50_ms']:>14.2f}")
    print(f"{'POST /v1/track p95 ms':<34}{k['p95_ms']:>14.2f}")
    print(f"{'POST /v1/track p99 ms':<34}{k['p99_ms']:>14.2f}  < {TARGET_TRACK_P99_MS:g}: "
          + ("met" if t["track_met"] else "MISSED"))
    print(f"{'  max ms; requests; errors':<34}{k['max_ms']:>8.1f}; {k['requests']}; "
          f"{k['errors']}")
    print(f"server peak RSS {results['server_peak_rss_mib']:.0f} MiB; store after: "
          f"{results['store_after']}")
    if args.out:
        print(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
