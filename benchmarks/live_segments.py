"""Live segments with a time window: the worker's due-time checks against a full
`segment compute` every minute (issue 11, "How it is measured").

A fresh SQLite store gets N people (default 100,000), each with one to three orders over the
90 days before the start; the live segment is "ordered before, but not within 30 days". It
goes live (everyone due once: the first evaluation is timed apart), then the clock moves
minute by minute for D simulated days (default 2): each minute the worker's due query runs
and the people it names are refreshed (Segment Entered recorded for each who lapses). The
figure is CPU seconds per simulated day of that, beside the CPU seconds of one full
`segment compute` (a snapshot refresh and the query over everyone) times 1,440 — what
recomputing the segment every minute would cost a day.

    python benchmarks/live_segments.py [--people N] [--days D] [--json] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START = datetime(2026, 6, 1, tzinfo=UTC)
RULE = {"all": [{"event": "Order Completed"},
                {"not": {"event": "Order Completed", "within_days": 30}}]}
MINUTES_A_DAY = 1440


def revision() -> str:
    """The git revision measured, marked when src/ had uncommitted changes."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True,
                           text=True, cwd=HERE).stdout.strip()
    return rev + ("+dirty-src" if dirty else "")


def orders(people: int, seed: int = 11) -> list[dict[str, Any]]:
    """One to three orders a person, at random minutes of the 90 days before START."""
    rng = random.Random(seed)
    out = []
    for p in range(people):
        for n in range(rng.randint(1, 3)):
            when = START - timedelta(minutes=rng.randrange(90 * MINUTES_A_DAY))
            out.append({"type": "track", "event": "Order Completed", "userId": f"c{p}",
                        "timestamp": when.isoformat(), "messageId": f"c{p}-{n}",
                        "properties": {"order_id": f"c{p}-{n}", "revenue": 20 + n}})
    return out


class Clock:
    """CPU and wall seconds of a block."""

    def __enter__(self) -> Clock:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self.cpu
        self.wall = time.perf_counter() - self.wall


def run(people: int, days: int, computes: int) -> dict[str, Any]:
    from tailored.analytics import opened
    from tailored.ingest import Ingestor
    from tailored.segments import define_segment, segment_sizes
    from tailored.segments.compute import compute_segments
    from tailored.segments.live import due_people, refresh_people, set_live
    from tailored.store import Store
    from tailored.store.snapshots import export_snapshot

    out: dict[str, Any] = {"people": people, "days": days, "rule": RULE}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'store.db'}")
        docs = orders(people)
        with Clock() as c:
            report = Ingestor(store).ingest_events(docs, received_at=START)
        assert not report.rejected
        out["orders"] = report.accepted
        out["ingest_seconds"] = round(c.wall, 2)
        define_segment(store, "lapsed", RULE)
        set_live(store, "lapsed", True, now=START)
        with Clock() as c:
            first = refresh_people(store, due_people(store, now=START), now=START)
        out["going_live"] = {"cpu_seconds": round(c.cpu, 2), "wall_seconds": round(c.wall, 2),
                             **first, "size": segment_sizes(store, ["lapsed"])["lapsed"]}
        per_day = []
        for day in range(days):
            checks = refreshed = entered = exited = 0
            with Clock() as c:
                for minute in range(1, MINUTES_A_DAY + 1):
                    now = START + timedelta(days=day, minutes=minute)
                    due = due_people(store, now=now)
                    checks += 1
                    if due:
                        got = refresh_people(store, due, now=now)
                        refreshed += got["checked"]
                        entered += got["entered"]
                        exited += got["exited"]
            per_day.append({"day": day + 1, "cpu_seconds": round(c.cpu, 2),
                            "wall_seconds": round(c.wall, 2), "due_queries": checks,
                            "people_refreshed": refreshed, "entered": entered,
                            "exited": exited})
            print(f"day {day + 1}: {per_day[-1]}", file=sys.stderr)
        out["due_checks_per_day"] = per_day
        end = START + timedelta(days=days)
        snap = Path(tmp) / "snap"
        with Clock() as c:
            export_snapshot(store, snap)
        out["first_snapshot_seconds"] = round(c.wall, 2)
        timings = []
        for k in range(computes):
            now = end + timedelta(minutes=k + 1)
            with Clock() as c:
                export_snapshot(store, snap)
                with opened(snap) as source:
                    (result,) = compute_segments(store, source, ["lapsed"], as_of=now, now=now)
            timings.append({"cpu_seconds": round(c.cpu, 3), "wall_seconds": round(c.wall, 3),
                            "size": result["size"], "entered": result["entered"],
                            "left": result["left"]})
        out["full_compute"] = timings
        store.close()
    due_cpu = statistics.median(d["cpu_seconds"] for d in per_day)
    compute_cpu = statistics.median(t["cpu_seconds"] for t in timings)
    out["summary"] = {
        "due_checks_cpu_seconds_per_day": round(due_cpu, 2),
        "full_compute_cpu_seconds": round(compute_cpu, 3),
        "compute_every_minute_cpu_seconds_per_day": round(compute_cpu * MINUTES_A_DAY, 1),
        "ratio": round(compute_cpu * MINUTES_A_DAY / due_cpu, 1) if due_cpu else None,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=2, help="simulated days of due checks")
    parser.add_argument("--computes", type=int, default=3, help="full computes timed")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--out", default=str(HERE / "results" / "live_segments.jsonl"),
                        help="append the result here ('' for nowhere)")
    args = parser.parse_args()
    # The machine is shared: its load says how far the seconds can be trusted.
    load_before = [round(x, 1) for x in os.getloadavg()]
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": " ".join(["benchmarks/live_segments.py", *sys.argv[1:]]),
              "revision": revision(), "cpus": os.cpu_count(), "load_before": load_before,
              "result": run(args.people, args.days, args.computes),
              "load_average": [round(x, 1) for x in os.getloadavg()]}
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(exist_ok=True)
        with path.open("a") as fh:
            fh.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
