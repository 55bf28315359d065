"""Real time end to end: from ``POST /v1/track`` returning 200 to the live counters, a live
segment's Segment Entered and the person's recommendations showing the event, under a
sustained load; and ingest throughput with the real-time stage on against off.

Two setups, each on a fresh store made by ``tailored quickstart`` (the demo shop, item-knn
trained), a live segment ``rt-probe`` (rule ``{"event": "Benchmark Probe"}``) and the live
state caught up by ``tailored worker --once`` before the clock starts:

embedded  one ``tailored serve`` on SQLite, nothing else (the in-process bus).
redis     two ``tailored serve`` and one ``tailored worker`` on PostgreSQL (a scratch
          database on ``--pg-url``, dropped afterwards), over a private ``redis-server`` on a
          free port (never the machine's shared one).

latency   ``--rate`` events/s for ``--seconds`` through ``POST /v1/batch`` (``--batch``
          events a call, paced, from a thread pool; alternating between the servers), the
          benchmark's own stream of new people on several devices (benchmarks/_events.py,
          products remapped onto the demo catalogue). Meanwhile, one sample after another
          (after a warm-up): a ``Benchmark Probe`` for a new person and a ``Product Viewed``
          of the first item of a demo customer's list, each a single ``POST /v1/track`` to the
          first server, then ``GET /v1/profiles/{id}`` and ``GET /v1/recommendations/{id}``
          polled on the *other* server (on the only one when embedded) until
          (a) ``live.events`` counts the probe, (b) ``segments`` holds ``rt-probe`` and
          ``live.events`` counts its Segment Entered, (c) the viewed item has left the list
          (seen items are excluded, so it leaves once the model folded the view in).
          p50/p90/p99/max per measure; a sample not seen within ``--timeout`` counts as lost.
          After the load: every accepted event is in the store, every consumer has handled
          everything, every probe entered the segment once, and every live profile equals a
          recount from the events table.
throughput  ``POST /v1/batch`` as fast as ``--threads`` threads can send for
          ``--throughput-seconds``, on a server with the real-time stage on, then on one
          started with ``--no-realtime`` (the same store kind, a fresh quickstart each), in
          the setup's process layout. Target on/off >= 0.8.

Latencies include one polling round trip (its median is reported): a poll is a real GET on
the serving process, which is also taking the load. Target: p99 < 100 ms, nothing lost.

    .venv/bin/python benchmarks/realtime.py                       # both setups, 60 s each
    .venv/bin/python benchmarks/realtime.py --setups embedded --seconds 20 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _events import generate_events  # noqa: E402
from http_ingest import (  # noqa: E402
    HOST,
    cpu_seconds,
    free_port,
    percentile,
    rss_mib,
)
from ingest_throughput import git_revision, machine  # noqa: E402

TAILORED = ROOT / ".venv" / "bin" / "tailored"
SEGMENT = "rt-probe"
PROBE = "Benchmark Probe"
EMITTED = ("Segment Entered", "Segment Exited")  # recorded by the live segments themselves
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.8


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", **extra}
    env.pop("TAILORED_DATABASE_URL", None)
    return env


def cli(db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run([str(TAILORED), "--db", db, *args], env=_env(env or {}),
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"tailored {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout) if "--json" in args else done.stdout


class Process:
    """A ``tailored`` command running until stopped, in its own process group."""

    def __init__(self, db: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([str(TAILORED), "--db", db, *args], stdout=self._log,
                                     stderr=subprocess.STDOUT, env=_env(env),
                                     start_new_session=True)

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.log.name} exited with {self.proc.returncode}:\n"
                               + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


class Server(Process):
    def __init__(self, db: str, env: dict[str, str], log: Path, *, realtime: bool = True
                 ) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        super().__init__(db, ["serve", "--host", HOST, "--port", str(self.port),
                              "--no-access-log",
                              "--realtime" if realtime else "--no-realtime"], env, log)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"tailored serve did not answer /health within {timeout:.0f} s")


class RedisServer:
    """A private redis-server on a free port, nothing kept on disk."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server is not installed: the redis setup needs one")
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if redis.Redis.from_url(self.url).ping():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@contextlib.contextmanager
def scratch_postgres(pg_url: str) -> Iterator[str]:
    """A new database on the server of ``pg_url``, dropped at the end."""
    import sqlalchemy as sa

    name = f"tailored_rt_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = pg_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the store a setup runs on -------------------------------------------------------------

class Shop:
    """A demo-shop store with keys, the probe segment and live state caught up."""

    def __init__(self, db: str, folder: Path, people: int) -> None:
        self.db = db
        t0 = time.perf_counter()
        cli(db, "quickstart", "--out", str(folder / "shop"), "--people", str(people),
            "--json")
        self.write_key = cli(db, "keys", "create", "--scope", "ingest", "--json")["key"]
        self.read_key = cli(db, "keys", "create", "--scope", "read", "--json")["key"]
        # The rule's event must be known to the store: one probe by a setup person first.
        seed_file = folder / "seed.jsonl"
        seed_file.write_text(json.dumps({
            "type": "track", "userId": "rt-setup", "event": PROBE,
            "messageId": f"rt-setup-{uuid.uuid4().hex}",
            "timestamp": datetime.now(UTC).isoformat()}) + "\n")
        cli(db, "ingest", str(seed_file), "--json")
        cli(db, "segment", "define", SEGMENT, "--rule", json.dumps({"event": PROBE}),
            "--live", "--json")
        cli(db, "worker", "--once", "--json")
        self.setup_seconds = time.perf_counter() - t0
        catalog = [json.loads(line) for line in
                   (folder / "shop" / "items.jsonl").read_text().splitlines() if line]
        self.items = [str(c.get("item_id") or c.get("id")) for c in catalog]
        # Customers by the user ids the shop's events carry (a profile id is not one).
        users: dict[str, None] = {}
        with (folder / "shop" / "events.jsonl").open() as f:
            for line in f:
                user = json.loads(line).get("userId")
                if user:
                    users[str(user)] = None
                if len(users) >= 200:
                    break
        self.customers = list(users)


def remapped_events(n: int, items: list[str], seed: int, tag: str) -> list[dict[str, Any]]:
    """The benchmark stream, its products drawn from the demo catalogue and its ids made
    unique to this run (so two runs on one store never de-duplicate each other)."""
    rnd = random.Random(seed)
    out = []
    for e in generate_events(n, seed=seed):
        e = dict(e)
        for key in ("userId", "anonymousId", "messageId", "previousId"):
            if e.get(key):
                e[key] = f"{tag}-{e[key]}"
        props = e.get("properties")
        if isinstance(props, dict):
            props = dict(props)
            if "product_id" in props:
                props["product_id"] = rnd.choice(items)
            if isinstance(props.get("products"), list):
                props["products"] = [{**p, "product_id": rnd.choice(items)}
                                     for p in props["products"]]
            e["properties"] = props
        out.append(e)
    return out


def batch_bodies(events: list[dict[str, Any]], size: int, write_key: str) -> list[bytes]:
    return [orjson.dumps({"batch": events[i:i + size], "writeKey": write_key})
            for i in range(0, len(events), size)]


class Load:
    """Batches posted at a steady rate from a thread pool, alternating between servers."""

    def __init__(self, urls: list[str], bodies: list[bytes], per_second: float) -> None:
        self.urls = urls
        self.bodies = bodies
        self.interval = 1.0 / per_second
        self.accepted = self.duplicates = self.rejected = self.errors = 0
        self.late = 0
        self.first_errors: list[str] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=16))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.seconds = 0.0

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        self._client.close()

    def _post(self, i: int) -> None:
        url = self.urls[i % len(self.urls)] + "/v1/batch"
        try:
            r = self._client.post(url, content=self.bodies[i],
                                  headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            with self._lock:
                self.errors += 1
                self.first_errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        with self._lock:
            if r.status_code == 200:
                body = r.json()
                self.accepted += body["accepted"]
                self.duplicates += body["duplicates"]
                self.rejected += len(body["rejected"])
            else:
                self.errors += 1
                self.first_errors.append(f"HTTP {r.status_code}: {r.text[:200]}")

    def _run(self) -> None:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for i in range(len(self.bodies)):
                due = t0 + i * self.interval
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -self.interval:
                    self.late += 1  # the sender itself fell behind its schedule
                pool.submit(self._post, i)
        self.seconds = time.perf_counter() - t0


def _ms(values: list[float]) -> dict[str, Any]:
    s = sorted(v * 1000 for v in values)
    if not s:
        return {"n": 0}
    return {"n": len(s), "p50_ms": round(percentile(s, 0.5), 1),
            "p90_ms": round(percentile(s, 0.9), 1), "p99_ms": round(percentile(s, 0.99), 1),
            "max_ms": round(s[-1], 1)}


class Sampler:
    """Single tracks on one server; the profile and the list polled on another."""

    def __init__(self, shop: Shop, track_url: str, read_url: str, timeout: float,
                 tag: str) -> None:
        self.shop = shop
        self.track_url = track_url
        self.read_url = read_url
        self.timeout = timeout
        self.tag = tag
        self.client = httpx.Client(timeout=30)
        self.read_headers = {"Authorization": f"Bearer {shop.read_key}"}
        self.write_auth = (shop.write_key, "")
        self.live: list[float] = []
        self.entered: list[float] = []
        self.recs: list[float] = []
        self.polls: list[float] = []
        self.track_ms: list[float] = []
        self.entered_counted: list[float] = []
        self.lost = {"live": 0, "entered": 0, "entered_counted": 0, "recommendations": 0}
        self._pool = ThreadPoolExecutor(max_workers=2)
        self.no_item = 0
        self.probes: list[str] = []
        self._customer = 0

    def _track(self, body: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        r = self.client.post(self.track_url + "/v1/track", json=body, auth=self.write_auth)
        done = time.perf_counter()
        if r.status_code != 200:
            raise RuntimeError(f"POST /v1/track answered {r.status_code}: {r.text[:300]}")
        self.track_ms.append(done - t0)
        return done

    def _get(self, path: str, **params: Any) -> Any:
        t0 = time.perf_counter()
        r = self.client.get(self.read_url + path, headers=self.read_headers, params=params)
        self.polls.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
        return r.json()

    def _top_item(self, person: str) -> str | None:
        items = self._get(f"/v1/recommendations/{person}", k=5)["items"]
        return str(items[0]["item_id"]) if items else None

    def sample(self, j: int) -> None:
        probe = f"{self.tag}-probe-{j}"
        customer = self.shop.customers[self._customer % len(self.shop.customers)]
        self._customer += 1
        item = self._top_item(customer)
        now = datetime.now(UTC).isoformat()
        deadline = time.perf_counter() + self.timeout
        # Each watch starts as soon as its track is answered, and they run side by side.
        t_probe = self._track({"userId": probe, "event": PROBE, "timestamp": now,
                               "messageId": f"{probe}-m"})
        self.probes.append(probe)
        futures = [self._pool.submit(self._poll_profile, probe, t_probe, deadline)]
        if item is None:
            self.no_item += 1
        else:
            t_view = self._track({"userId": customer, "event": "Product Viewed",
                                  "properties": {"product_id": item}, "timestamp": now,
                                  "messageId": f"{probe}-v"})
            futures.append(self._pool.submit(self._poll_list, customer, item, t_view,
                                             deadline))
        for f in futures:
            f.result()

    def _poll_profile(self, probe: str, t_probe: float, deadline: float) -> None:
        pending = {"live", "entered", "entered_counted"}
        while pending and time.perf_counter() < deadline:
            doc = self._get(f"/v1/profiles/{probe}")
            seen = time.perf_counter()
            counted = (doc.get("live") or {}).get("events") or {}
            if "live" in pending and counted.get(PROBE):
                self.live.append(seen - t_probe)
                pending.discard("live")
            # Recorded: the membership, and the Segment Entered event in the history (the
            # probe and it make two events).
            if ("entered" in pending and SEGMENT in (doc.get("segments") or [])
                    and doc.get("event_count", 0) >= 2):
                self.entered.append(seen - t_probe)
                pending.discard("entered")
            if "entered_counted" in pending and counted.get("Segment Entered"):
                self.entered_counted.append(seen - t_probe)
                pending.discard("entered_counted")
            if pending:
                time.sleep(0.002)
        for what in pending:
            self.lost[what] += 1

    def _poll_list(self, customer: str, item: str, t_view: float, deadline: float) -> None:
        while time.perf_counter() < deadline:
            items = self._get(f"/v1/recommendations/{customer}", k=5)["items"]
            seen = time.perf_counter()
            if item not in {str(i["item_id"]) for i in items}:
                self.recs.append(seen - t_view)
                return
            time.sleep(0.002)
        self.lost["recommendations"] += 1

    def close(self) -> None:
        self._pool.shutdown()
        self.client.close()

    def report(self) -> dict[str, Any]:
        return {"samples": len(self.probes), "live": _ms(self.live),
                "segment_entered": _ms(self.entered),
                "segment_entered_counted": _ms(self.entered_counted),
                "recommendations": _ms(self.recs),
                "not_seen_within_timeout": self.lost, "no_item_to_view": self.no_item,
                "track_call": _ms(self.track_ms), "poll_call": _ms(self.polls)}


# --- checks after the load -----------------------------------------------------------------

def wait_drained(db: str, timeout: float = 120.0) -> dict[str, Any]:
    """Until every registered consumer has handled every event and merge."""
    from tailored.realtime.status import worker_status
    from tailored.realtime.worker import Worker
    from tailored.store import Store

    store = Store.open(db)
    try:
        names = [c.name for c in Worker(store).consumers]
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        while True:
            status = worker_status(store, names)
            behind = {c["consumer"]: c["pending_events"] + c["pending_merges"]
                      for c in status["consumers"] if c["registered"]}
            if not any(behind.values()) or time.monotonic() > deadline:
                return {"drained": not any(behind.values()), "behind": behind,
                        "waited_seconds": round(time.monotonic() - t0, 2),
                        "parked": status["parked_total"]}
            time.sleep(0.25)
    finally:
        store.close()


def verify(db: str, events_before: int, accepted: int, probes: list[str]) -> dict[str, Any]:
    """Nothing lost: the store has every accepted event, each probe entered the segment once,
    and every live profile equals a recount from the events table."""
    import sqlalchemy as sa

    from tailored.realtime.live_profile import read_live, recount_profile
    from tailored.store import Store
    from tailored.store.tables import events, profiles

    store = Store.open(db)
    try:
        with store.reading() as conn:
            stored = stored_events(conn)
            entered = dict(conn.execute(
                sa.select(events.c.profile_id, sa.func.count())
                .where(events.c.event == "Segment Entered").group_by(events.c.profile_id)
            ).all())
            pids = [r[0] for r in conn.execute(sa.select(profiles.c.profile_id)
                                               .where(profiles.c.merged_into.is_(None)))]
            mismatched = [pid for pid in pids
                          if read_live(conn, pid) != recount_profile(conn, pid)]
        probe_pids = [store.find_profile(p) for p in probes]
    finally:
        store.close()
    probes_entered_once = sum(1 for pid in probe_pids if entered.get(pid) == 1)
    return {"events_before": events_before, "events_accepted": accepted,
            "events_stored": stored,
            "events_missing": events_before + accepted - stored,
            "profiles_checked": len(pids), "live_mismatches": len(mismatched),
            "first_mismatches": mismatched[:5],
            "probes": len(probes), "probes_entered_once": probes_entered_once}


def stored_events(conn: Any) -> int:
    """Events in the store, less those the live segments recorded themselves."""
    import sqlalchemy as sa

    from tailored.store.tables import events

    return int(conn.scalar(sa.select(sa.func.count()).select_from(events).where(
        sa.or_(events.c.event.is_(None), events.c.event.not_in(EMITTED)))) or 0)


def count_events(db: str) -> int:
    from tailored.store import Store

    store = Store.open(db)
    try:
        with store.reading() as conn:
            return stored_events(conn)
    finally:
        store.close()


# --- the setups ------------------------------------------------------------------------------

@contextlib.contextmanager
def layout(setup: str, db: str, folder: Path, redis_url: str | None, *, realtime: bool = True
           ) -> Iterator[tuple[list[Server], list[Process]]]:
    """The processes of a setup: one server (embedded), or two servers and a worker."""
    env = {"TAILORED_REDIS_URL": redis_url, "TAILORED_REDIS_STREAM": "rt-bench"} \
        if redis_url else {}
    servers: list[Server] = []
    others: list[Process] = []
    try:
        for n in range(1 if setup == "embedded" else 2):
            servers.append(Server(db, env, folder / f"serve-{n}-{int(realtime)}.log",
                                  realtime=realtime))
        if setup == "redis" and realtime:  # off: no real-time stage anywhere
            others.append(Process(db, ["worker"], env, folder / f"worker-{int(realtime)}.log"))
        for s in servers:
            s.wait_ready()
        yield servers, others
    finally:
        for p in [*servers, *others]:
            p.stop()


def latency_case(setup: str, db: str, folder: Path, redis_url: str | None, args: Any
                 ) -> dict[str, Any]:
    shop = Shop(db, folder, args.people)
    tag = f"rt{uuid.uuid4().hex[:6]}"
    n_events = int(args.rate * args.seconds)
    events = remapped_events(n_events, shop.items, args.seed, tag)
    bodies = batch_bodies(events, args.batch, shop.write_key)
    before = count_events(db)
    with layout(setup, db, folder, redis_url) as (servers, others):
        read_server = servers[-1]
        sampler = Sampler(shop, servers[0].url, read_server.url, args.timeout, tag)
        for s in servers:  # the first answers load the model; not part of the figures
            httpx.get(s.url + f"/v1/recommendations/{shop.customers[0]}",
                      headers=sampler.read_headers, timeout=60)
        pids = [s.proc.pid for s in servers] + [p.proc.pid for p in others]
        pids += [c for p in list(pids) for c in children(p)]  # a server's own worker
        cpu0 = [cpu_seconds(p) for p in pids]
        load = Load([s.url for s in servers], bodies, args.rate / args.batch)
        started = time.perf_counter()
        load.start()
        time.sleep(args.warmup)
        j = 0
        while load._thread.is_alive():
            # Samples are spaced out: their own requests (a track, then polls) must not
            # become a second load on the server they measure.
            next_at = time.perf_counter() + args.sample_interval
            sampler.sample(j)
            j += 1
            time.sleep(max(0.0, next_at - time.perf_counter()))
            for p in [*servers, *others]:
                p.alive()
        load.join()
        load_seconds = time.perf_counter() - started
        sampler.close()
        drained = wait_drained(db)
        cpu = [round(cpu_seconds(p) - c, 1) for p, c in zip(pids, cpu0, strict=True)]
        rss = [round(rss_mib(p)) for p in pids]
    checks = verify(db, before, load.accepted + 2 * len(sampler.probes) - sampler.no_item,
                    sampler.probes)
    report = sampler.report()
    worst = max((report[k].get("p99_ms") or 0) for k in
                ("live", "segment_entered", "recommendations"))
    lost = (sum(report["not_seen_within_timeout"].values()) + checks["events_missing"]
            + checks["live_mismatches"] + (checks["probes"] - checks["probes_entered_once"])
            + load.errors + load.rejected)
    return {
        "setup": setup, "store": db.split(":", 1)[0], "setup_seconds": round(shop.setup_seconds, 1),
        "rate_target": args.rate, "seconds_target": args.seconds,
        "load": {"events": n_events, "accepted": load.accepted, "duplicates": load.duplicates,
                 "rejected": load.rejected, "errors": load.errors,
                 "first_errors": load.first_errors[:3], "late_sends": load.late,
                 "seconds": round(load_seconds, 1),
                 "events_per_s": round((load.accepted + load.duplicates) / load_seconds)},
        **report, "drain": drained, "checks": checks,
        "process_cpu_seconds": cpu, "process_peak_rss_mib": rss,
        "p99_target_ms": TARGET_P99_MS, "worst_p99_ms": worst,
        "met": worst < TARGET_P99_MS and lost == 0 and drained["drained"], "lost": lost,
    }


def throughput(setup: str, db: str, folder: Path, redis_url: str | None, realtime: bool,
               args: Any) -> dict[str, Any]:
    shop = Shop(db, folder, args.people)
    tag = f"tp{uuid.uuid4().hex[:6]}"
    # Enough for the fastest server this machine has shown, with room.
    events = remapped_events(int(args.throughput_seconds * 12_000), shop.items, args.seed + 1,
                             tag)
    bodies = batch_bodies(events, args.batch, shop.write_key)
    with layout(setup, db, folder, redis_url, realtime=realtime) as (servers, _others):
        client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=16))
        lock = threading.Lock()
        state = {"next": 0, "events": 0, "errors": 0}
        stop_at = time.perf_counter() + args.throughput_seconds

        def send() -> None:
            while time.perf_counter() < stop_at:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= len(bodies):
                    return
                r = client.post(servers[i % len(servers)].url + "/v1/batch",
                                content=bodies[i], headers={"content-type": "application/json"})
                with lock:
                    if r.status_code == 200:
                        b = r.json()
                        state["events"] += b["accepted"] + b["duplicates"]
                    else:
                        state["errors"] += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=send) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - t0
        client.close()
    return {"realtime": realtime, "events": state["events"], "errors": state["errors"],
            "seconds": round(seconds, 2), "events_per_s": round(state["events"] / seconds)}


@contextlib.contextmanager
def store_for(setup: str, folder: Path, name: str, args: Any) -> Iterator[str]:
    if setup == "embedded":
        yield f"sqlite:///{folder / name}.db"
    else:
        with scratch_postgres(args.pg_url) as url:
            yield url


def run_setup(setup: str, args: Any) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"tailored-rt-{setup}-"))
    redis = RedisServer() if setup == "redis" else None
    try:
        out: dict[str, Any] = {}
        if not args.skip_latency:
            with store_for(setup, folder / "latency", "latency", args) as db:
                (folder / "latency").mkdir(exist_ok=True)
                out["latency"] = latency_case(setup, db, folder / "latency",
                                              redis and redis.url, args)
        if args.throughput_seconds > 0:
            runs = []
            for i, on in enumerate((False, True) * args.throughput_repeats):
                sub = folder / f"throughput-{i}"
                sub.mkdir()
                with store_for(setup, sub, "throughput", args) as db:
                    if redis is not None:  # every run starts on an empty stream
                        import redis as redis_py

                        redis_py.Redis.from_url(redis.url).flushall()
                    runs.append(throughput(setup, db, sub, redis and redis.url, on, args))
            off = [r["events_per_s"] for r in runs if not r["realtime"]]
            on_ = [r["events_per_s"] for r in runs if r["realtime"]]
            ratio = round(sum(on_) / len(on_) / (sum(off) / len(off)), 3) if off else None
            out["throughput"] = {"runs": runs, "on_over_off": ratio,
                                 "target": TARGET_RATIO,
                                 "met": ratio is not None and ratio >= TARGET_RATIO}
        return out
    finally:
        if redis is not None:
            redis.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default="embedded,redis",
                        help="embedded, redis or both (comma-separated)")
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s of the load")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--batch", type=int, default=100, help="events a /v1/batch call")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds of load before sampling starts")
    parser.add_argument("--sample-interval", type=float, default=0.2,
                        help="seconds from one sample's start to the next's (at least)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="a sample not seen within this many seconds counts as lost")
    parser.add_argument("--people", type=int, default=400, help="demo shop size")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--throughput-seconds", type=float, default=20.0,
                        help="length of each throughput run (0: none)")
    parser.add_argument("--throughput-repeats", type=int, default=1,
                        help="off/on pairs of throughput runs")
    parser.add_argument("--threads", type=int, default=4, help="senders of the throughput runs")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--out", default=str(HERE / "results" / "realtime.jsonl"),
                        help="append the record to this file ('' for none)")
    args = parser.parse_args()
    if not TAILORED.exists():
        raise SystemExit(f"{TAILORED} not found: install the project first (see README)")
    record: dict[str, Any] = {
        "benchmark": "realtime", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "git": git_revision(), "machine": machine(),
        "load_before": os.getloadavg(), "setups": {}}
    for setup in [s.strip() for s in args.setups.split(",") if s.strip()]:
        if setup not in ("embedded", "redis"):
            raise SystemExit(f"--setups: unknown setup {setup!r} (embedded, redis)")
        record["setups"][setup] = run_setup(setup, args)
        if not args.json:
            print_setup(setup, record["setups"][setup])
    record["load_after"] = os.getloadavg()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "ab") as f:
            f.write(orjson.dumps(record) + b"\n")
    if args.json:
        print(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())


def print_setup(setup: str, result: dict[str, Any]) -> None:
    lat = result.get("latency")
    if lat:
        print(f"\n{setup} ({lat['store']}): load {lat['load']['events_per_s']:,} events/s for "
              f"{lat['load']['seconds']} s, {lat['samples']} samples")
        print(f"{'from POST /v1/track 200 to':<40}{'n':>6}{'p50':>9}{'p90':>9}{'p99':>9}"
              f"{'max':>9}")
        for key, label in (("live", "(a) live counters show it"),
                           ("segment_entered", "(b) Segment Entered recorded"),
                           ("segment_entered_counted", "    ... and counted in live events"),
                           ("recommendations", "(c) recommendations reflect it"),
                           ("track_call", "POST /v1/track itself"),
                           ("poll_call", "one polling GET")):
            m = lat[key]
            print(f"{label:<40}{m.get('n', 0):>6}" + "".join(
                f"{m.get(k, float('nan')):>9.1f}" for k in ("p50_ms", "p90_ms", "p99_ms",
                                                            "max_ms")))
        c = lat["checks"]
        print(f"lost: {lat['lost']} (not seen in time {lat['not_seen_within_timeout']}, "
              f"missing events {c['events_missing']}, live mismatches "
              f"{c['live_mismatches']}/{c['profiles_checked']}, probes entered once "
              f"{c['probes_entered_once']}/{c['probes']}); drained {lat['drain']}")
        print(f"target p99 < {TARGET_P99_MS:.0f} ms and nothing lost: "
              f"{'met' if lat['met'] else 'MISSED'}")
    tp = result.get("throughput")
    if tp:
        for r in tp["runs"]:
            print(f"throughput realtime {'on ' if r['realtime'] else 'off'}: "
                  f"{r['events_per_s']:,} events/s ({r['events']:,} in {r['seconds']} s, "
                  f"{r['errors']} errors)")
        print(f"on/off {tp['on_over_off']} (target >= {TARGET_RATIO}): "
              f"{'met' if tp['met'] else 'MISSED'}")


if __name__ == "__main__":
    main()
