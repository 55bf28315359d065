"""Batch ingestion throughput: Tailored's full path beside a raw executemany, same database,
at several merge rates and store sizes.

For each backend (a fresh SQLite file in a temporary folder; a scratch PostgreSQL database,
dropped afterwards), each size and each merge rate, in a fresh Python process on a fresh
database, this measures on the same generated events:

ours  ``Ingestor(store, chunk_size=C).ingest_events(events)``: validation, de-duplication on
      messageId, identity stitching (merges, relinks, profile traits) and writing, one
      transaction per chunk — the path every source uses.
raw   a plain SQLAlchemy ``conn.execute(table.insert(), rows)`` (executemany) of exactly the
      rows ours wrote to ``events`` (read back, so same values, same JSON serialiser: the
      engine's), into a copy of the ``events`` table (same columns, unique key and indexes)
      in the same database, committed every C rows. That is the floor: no validation, no
      de-duplication, no stitching.
driver  (for information, ``--driver``) the same rows, already converted outside the clock
      to what SQLAlchemy hands the driver, passed straight to the DB-API ``executemany``
      into a third copy of the table: the floor without SQLAlchemy's per-value processing.

The merge rate is actual merges per event (``_events.generate_events(merge_rate=...)``:
people logging in on new devices); the report gives the merges the ingest really made and
the identifies in the stream (a repeat identify of a known pair is not a merge).
ratio = raw rate / our rate (target ≤ 3×); our rate is events offered per second, the
duplicates included (target ≥ 20,000/s into SQLite at a 10 % merge rate); growth = our
cost per event at each size ÷ that at the smallest size, same backend and rate (target
≤ 1.5× for 1M against 100k). Each case runs in its own process, so its peak RSS
(``resource.getrusage``) is its own.

    .venv/bin/python benchmarks/ingest_throughput.py          # both backends, 1/5/10 %, 100k
    .venv/bin/python benchmarks/ingest_throughput.py --backend sqlite \
        --merge-rates 0.01,0.05,0.1 --sizes 100000,400000,1000000
    .venv/bin/python benchmarks/ingest_throughput.py --backend sqlite --sizes 20000 --json
    .venv/bin/python benchmarks/ingest_throughput.py --profile       # + cProfile top-15
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import cProfile
import gc
import io
import multiprocessing
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _events import MERGE_RATES, generate_events, stream_stats  # noqa: E402
from tailored.config import Settings  # noqa: E402
from tailored.ingest import Ingestor  # noqa: E402
from tailored.realtime.bus import LocalBus  # noqa: E402
from tailored.realtime.redis_bus import RedisBus  # noqa: E402
from tailored.store import Store  # noqa: E402
from tailored.store.tables import events as events_table  # noqa: E402
from tailored.store.tables import metadata as store_metadata  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_RATIO = 3.0
TARGET_SQLITE_RATE = 20_000
TARGET_RATE_AT = 0.10  # the merge rate the SQLite rate target is set at
TARGET_GROWTH = 1.5
RAW_TABLE = "bench_raw_events"
DRIVER_TABLE = "bench_driver_events"


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- scratch databases ------------------------------------------------------------------

@contextlib.contextmanager
def scratch_database(backend: str, pg_url: str) -> Iterator[str]:
    """A URL of an empty database that is removed afterwards."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="tailored-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"tailored_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield str(sa.engine.make_url(pg_url).set(database=name)
                  .render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def copy_of_events(name: str) -> sa.Table:
    """A copy of the events table (columns, unique messageId, indexes) under another name."""
    md = sa.MetaData(naming_convention=dict(store_metadata.naming_convention))  # type: ignore[arg-type]
    table = events_table.to_metadata(md, name=name)
    table.primary_key.name = f"pk_{name}"
    # Explicitly named indexes and constraints would clash with the events table's own.
    items: list[Any] = [*table.indexes, *table.constraints]
    for item in items:
        if isinstance(item.name, str) and item is not table.primary_key:
            item.name = item.name.replace(events_table.name, name, 1)
    return table


def driver_rows(table: sa.Table, dialect: sa.Dialect, rows: list[dict[str, Any]]
                ) -> tuple[str, list[Any]]:
    """The INSERT as the driver sees it, and the rows as SQLAlchemy would bind them."""
    names = [c.name for c in table.columns if c.name != "id"]
    compiled = table.insert().values({n: sa.bindparam(n) for n in names}).compile(
        dialect=dialect)
    procs: dict[str, Any] = {
        n: table.c[n].type._cached_bind_processor(dialect) for n in names}
    out: list[Any] = []
    for row in rows:
        values = {n: (procs[n](row[n]) if procs[n] else row[n]) for n in names}
        if compiled.positional:
            out.append(tuple(values[n] for n in compiled.positiontup or names))
        else:
            out.append(values)
    return compiled.string, out


# -- one backend, in its own process -------------------------------------------------------

def _ours(store: Store, events: list[dict[str, Any]], chunk_size: int,
          publish: bool = False) -> tuple[Any, float, float]:
    # --publish: each committed chunk is published on an in-process bus, as `tailored
    # serve` does (the real-time stage on); its consumers are not part of ingestion.
    publisher: Any = None
    if publish:
        # TAILORED_BENCH_REDIS_URL: publish on that Redis stream instead (a private server).
        redis_url = os.environ.get("TAILORED_BENCH_REDIS_URL")
        publisher = (RedisBus(redis_url, prefix="bench") if redis_url
                     else LocalBus(maxsize=10_000_000))
    gc.collect()
    cpu0, t0 = time.process_time(), time.perf_counter()
    report = Ingestor(store, chunk_size=chunk_size, publisher=publisher).ingest_events(events)
    return report, time.perf_counter() - t0, time.process_time() - cpu0


def _profile_ours(backend: str, pg_url: str, events: list[dict[str, Any]],
                  chunk_size: int) -> str:
    with scratch_database(backend, pg_url) as url:
        store = Store.open(url)
        try:
            prof = cProfile.Profile()
            gc.collect()
            t0 = time.perf_counter()
            prof.enable()
            Ingestor(store, chunk_size=chunk_size).ingest_events(events)
            prof.disable()
            seconds = time.perf_counter() - t0
        finally:
            store.close()
    out = io.StringIO()
    out.write(f"== {backend}: Ingestor.ingest_events of {len(events):,} events, chunk "
              f"{chunk_size}, under cProfile: {seconds:.2f} s wall ==\n")
    for key in ("cumulative", "tottime"):
        out.write(f"\n-- top 15 by {key} --\n")
        stats = pstats.Stats(prof, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(15)
    out.write("\n-- where a chunk's time goes: what flush() and _write() call --\n")
    stats = pstats.Stats(prof, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_callees(r"\((flush|_write)\)")
    return out.getvalue()


def run_case(backend: str, n: int, merge_rate: float, seed: int, chunk_size: int,
             pg_url: str, profile: bool, driver_peer: bool, publish: bool = False
             ) -> dict[str, Any]:
    """Measure ours and raw on one backend, size and merge rate; runs in a fresh process."""
    t0 = time.perf_counter()
    events = generate_events(n, seed=seed, merge_rate=merge_rate)
    gen_seconds = time.perf_counter() - t0
    stats = stream_stats(events)
    rss_generated = peak_rss_mib()
    result: dict[str, Any] = {"backend": backend, "events": len(events),
                              "merge_rate": merge_rate, "stream": stats,
                              "generate_seconds": round(gen_seconds, 2),
                              "rss_after_generate_mib": round(rss_generated, 1)}
    with scratch_database(backend, pg_url) as url:
        store = Store.open(url)
        try:
            raw = copy_of_events(RAW_TABLE)
            raw.create(store.engine)
            driver = copy_of_events(DRIVER_TABLE)
            if driver_peer:
                driver.create(store.engine)
            report, seconds, cpu = _ours(store, events, chunk_size, publish)
            result["peak_rss_mib"] = round(peak_rss_mib(), 1)
            if report.rejected:
                raise SystemExit(f"{backend}: {len(report.rejected)} events rejected, e.g. "
                                 f"{report.rejected[0]}")
            written = store.stats()
            result["ours"] = {
                "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                "events_per_s": round(len(events) / seconds),
                "us_per_event": round(seconds / len(events) * 1e6, 2),
                "cpu_us_per_event": round(cpu / len(events) * 1e6, 2),
                "accepted": report.accepted, "duplicates": report.duplicates,
                "profiles_created": report.profiles_created, "merges": report.merges,
                "merges_per_event": round(report.merges / len(events), 4),
                "identifies_per_event": stats["identifies_per_event"],
                "relinks": report.relinks,
                "stored": {k: written[k] for k in ("events", "profiles", "identities",
                                                   "merges", "duplicates") if k in written},
            }
            if profile:
                profile_events = events
            else:
                del events  # the raw peer's rows take their place in memory
            gc.collect()
            # The raw peer: exactly the rows ours stored, built before the clock starts.
            cols = [c for c in events_table.columns if c.name != "id"]
            with store.engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(
                    sa.select(*cols).order_by(events_table.c.id))]
            gc.collect()
            cpu0, t1 = time.process_time(), time.perf_counter()
            for i in range(0, len(rows), chunk_size):
                with store.engine.begin() as conn:
                    conn.execute(raw.insert(), rows[i : i + chunk_size])
            raw_seconds = time.perf_counter() - t1
            raw_cpu = time.process_time() - cpu0
            with store.engine.connect() as conn:
                landed = conn.scalar(sa.select(sa.func.count()).select_from(raw))
            assert landed == len(rows), (landed, len(rows))
            result["raw"] = {"seconds": round(raw_seconds, 3), "cpu_seconds": round(raw_cpu, 3),
                             "rows": len(rows), "rows_per_s": round(len(rows) / raw_seconds)}
            if driver_peer:
                # The driver floor: the same rows, bound outside the clock.
                sql, bound = driver_rows(driver, store.engine.dialect, rows)
                del rows
                gc.collect()
                cpu0, t1 = time.process_time(), time.perf_counter()
                for i in range(0, len(bound), chunk_size):
                    with store.engine.begin() as conn:
                        conn.exec_driver_sql(sql, bound[i : i + chunk_size])
                drv_seconds = time.perf_counter() - t1
                drv_cpu = time.process_time() - cpu0
                with store.engine.connect() as conn:
                    landed = conn.scalar(sa.select(sa.func.count()).select_from(driver))
                assert landed == len(bound), (landed, len(bound))
                result["driver"] = {"seconds": round(drv_seconds, 3),
                                    "cpu_seconds": round(drv_cpu, 3), "rows": len(bound),
                                    "rows_per_s": round(len(bound) / drv_seconds)}
                del bound
            else:
                del rows
        finally:
            store.close()
    ours_rate = result["ours"]["events_per_s"]
    raw_rate = result["raw"]["rows_per_s"]
    result["ratio"] = round(raw_rate / ours_rate, 2)
    if driver_peer:
        result["ratio_vs_driver"] = round(result["driver"]["rows_per_s"] / ours_rate, 2)
    result["targets"] = {"ratio_max": TARGET_RATIO, "ratio_met": result["ratio"] <= TARGET_RATIO}
    if backend == "sqlite" and abs(merge_rate - TARGET_RATE_AT) < 1e-9:
        result["targets"]["events_per_s_min"] = TARGET_SQLITE_RATE
        result["targets"]["events_per_s_met"] = ours_rate >= TARGET_SQLITE_RATE
    if profile:
        result["profile_text"] = _profile_ours(backend, pg_url, profile_events, chunk_size)
    return result


def run_isolated(*args: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(run_case, *args).result()


def add_growth(results: list[dict[str, Any]]) -> None:
    """Cost per event at each size ÷ that at the smallest size, per backend and rate."""
    smallest: dict[tuple[str, float], dict[str, Any]] = {}
    for r in sorted(results, key=lambda r: r["events"]):
        base = smallest.setdefault((r["backend"], r["merge_rate"]), r)
        wall = r["ours"]["us_per_event"] / base["ours"]["us_per_event"]
        cpu = r["ours"]["cpu_us_per_event"] / base["ours"]["cpu_us_per_event"]
        r["growth"] = {"against_events": base["events"], "wall": round(wall, 2),
                       "cpu": round(cpu, 2)}
        if r is not base and r["events"] >= 10 * base["events"]:
            r["targets"]["growth_max"] = TARGET_GROWTH
            r["targets"]["growth_met"] = wall <= TARGET_GROWTH


# -- reporting --------------------------------------------------------------------------------

def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+dirty-src" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "platform": platform.platform()}


def print_table(results: list[dict[str, Any]]) -> None:
    head = (f"{'backend':<11}{'events':>10}{'merge':>7}{'merges':>8}{'idents':>8}"
            f"{'ours s':>9}{'ours ev/s':>11}{'cpu µs/ev':>10}{'raw rows/s':>12}{'ratio':>7}"
            f"{'growth':>8}{'RSS MiB':>9}  targets")
    print(head)
    print("-" * len(head))
    for r in results:
        t, o = r["targets"], r["ours"]
        verdict = [f"ratio≤{TARGET_RATIO:g}× " + ("met" if t["ratio_met"] else "MISSED")]
        if "events_per_s_met" in t:
            verdict.append(f"≥{TARGET_SQLITE_RATE:,}/s " + ("met" if t["events_per_s_met"]
                                                           else "MISSED"))
        if "growth_met" in t:
            verdict.append(f"growth≤{TARGET_GROWTH:g}× " + ("met" if t["growth_met"]
                                                           else "MISSED"))
        print(f"{r['backend']:<11}{r['events']:>10,}{r['merge_rate']:>6.1%}"
              f"{o['merges_per_event']:>7.1%} {o['identifies_per_event']:>7.1%}"
              f"{o['seconds']:>9.1f}{o['events_per_s']:>11,}{o['cpu_us_per_event']:>10.1f}"
              f"{r['raw']['rows_per_s']:>12,}{r['ratio']:>6.2f}×"
              f"{r['growth']['wall']:>7.2f}×{r['peak_rss_mib']:>9.0f}  {'; '.join(verdict)}")
    print("merge = the rate asked for; merges, idents = merges the ingest made and identifies "
          "in the stream, per event; growth = wall µs/event ÷ that at the smallest size")


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=_ints, default=[100_000],
                   help="events to generate, comma-separated (100000)")
    p.add_argument("--events", type=int, default=None,
                   help="one size (the same as --sizes N)")
    p.add_argument("--merge-rates", type=_floats, default=[0.01, 0.05, 0.10],
                   help="actual merges per event, comma-separated, each 0.002-0.2 "
                        "(0.01,0.05,0.1)")
    p.add_argument("--backend", choices=("sqlite", "postgresql", "postgres", "both"),
                   default="both")
    p.add_argument("--chunk-size", type=int, default=Settings().ingest_chunk_size,
                   help="events per transaction, for ours and raw (the setting's default)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--driver", action="store_true",
                   help="also time the driver-level executemany peer")
    p.add_argument("--pg-url", default=os.environ.get("TAILORED_BENCH_PG_URL", DEFAULT_PG),
                   help="server to create the scratch database on (%(default)s)")
    p.add_argument("--publish", action="store_true",
                   help="publish each committed chunk on an in-process real-time bus, as "
                   "`tailored serve` does (compare with and without for the stage's cost); "
                   "on a Redis stream when TAILORED_BENCH_REDIS_URL is set")
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.add_argument("--out", default=str(HERE / "results" / "ingest.jsonl"),
                   help="append the result as a JSON line here ('' for nowhere)")
    p.add_argument("--profile", nargs="?", const=str(HERE / "results" / "ingest_profile.txt"),
                   default=None, metavar="FILE",
                   help="also run ours under cProfile on a fresh database and write the "
                        "top-15 entries to FILE (benchmarks/results/ingest_profile.txt)")
    args = p.parse_args(argv)
    sizes = [args.events] if args.events is not None else args.sizes
    lo, hi = MERGE_RATES
    for rate in args.merge_rates:
        if not lo <= rate <= hi:
            p.error(f"--merge-rates: {rate} is outside {lo}-{hi}")

    backends = {"both": ["sqlite", "postgresql"], "postgres": ["postgresql"]}.get(
        args.backend, [args.backend])
    started = datetime.now(UTC)
    before = machine()
    results = []
    for backend in backends:
        for n in sizes:
            for rate in args.merge_rates:
                if not args.json:
                    print(f"[{backend}] {n:,} events at {rate:.1%} merges …",
                          file=sys.stderr, flush=True)
                results.append(run_isolated(backend, n, rate, args.seed, args.chunk_size,
                                            args.pg_url, args.profile is not None,
                                            args.driver, args.publish))
                if not args.json:
                    # Each case as it ends: a long run interrupted still leaves its figures.
                    o = results[-1]["ours"]
                    print(f"  ours {o['events_per_s']:,}/s ({o['cpu_us_per_event']} CPU µs/ev),"
                          f" raw {results[-1]['raw']['rows_per_s']:,}/s, merges/event "
                          f"{o['merges_per_event']:.2%}", file=sys.stderr, flush=True)
    add_growth(results)
    profile_text = "".join(r.pop("profile_text", "") for r in results)
    record = {
        "benchmark": "ingest_throughput",
        "date": started.isoformat(timespec="seconds"),
        "command": "python benchmarks/ingest_throughput.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "git": git_revision(),
        "machine": {**before, "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "params": {"sizes": sizes, "merge_rates": args.merge_rates,
                   "chunk_size": args.chunk_size, "seed": args.seed,
                   "publish": args.publish},
        "results": results,
    }
    if args.profile is not None:
        Path(args.profile).parent.mkdir(parents=True, exist_ok=True)
        Path(args.profile).write_text(profile_text)
        record["profile_file"] = args.profile
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "ab") as f:
            f.write(orjson.dumps(record) + b"\n")
    if args.json:
        sys.stdout.write(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_table(results)
        if args.profile is not None:
            print(f"profile: {args.profile}")
        if args.out:
            print(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
