"""Seconds and peak memory of `tailored import` on real data sets, as a user runs it.

Each import runs `tailored import ...` in a fresh process on a fresh SQLite store, so the
figures include start-up, reading, validation, stitching and writing; peak RSS is the child
process's maximum resident set (getrusage). MovieLens 1M and 20M are not in
../shared/datasets: pass your own folder with --movielens PATH, or --synthetic-1m to time a
made-up folder of ML-1M's exact shape (6,040 users, 3,706 movies, 1,000,209 ratings in the
1M layout) — a stand-in for the real file's size, not its content.

    python benchmarks/import_datasets.py                 # the shared data sets
    python benchmarks/import_datasets.py --synthetic-1m  # plus an ML-1M-sized folder
    python benchmarks/import_datasets.py --movielens ~/data/ml-20m --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))
TAILORED = Path(sys.executable).with_name("tailored")

TARGETS = {  # seconds, MiB, from the foundation issue
    "ml-1m": (30, 1024),
    "ml-20m": (600, 6144),
    "online-retail-ii": (30, None),
}


def run_import(args: list[str], workdir: Path) -> dict[str, object]:
    db = workdir / "bench.db"
    for leftover in workdir.glob("bench.db*"):
        leftover.unlink()
    out, err = workdir / "out.json", workdir / "err.txt"
    started = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [str(TAILORED), "--db", f"sqlite:///{db}", "import", *args, "--json"],
            stdout=stdout, stderr=stderr)
        # wait4 gives this child's own peak resident set.
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"import failed ({code}): {err.read_text().strip()}")
    report = json.loads(out.read_text())
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "events": report["accepted"],
        "items": report["items"],
        "rejected": len(report["rejected"]),
        "events_per_second": round(report["accepted"] / seconds),
    }


def synthetic_1m(folder: Path) -> Path:
    """A folder in the ML-1M layout with ML-1M's counts; ratings drawn at random."""
    rng = random.Random(1)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "users.dat").open("w", encoding="latin-1") as f:
        for u in range(1, 6041):
            f.write(f"{u}::{rng.choice('MF')}::{rng.choice([1, 18, 25, 35, 45, 50, 56])}::"
                    f"{rng.randrange(21)}::{rng.randrange(10000, 99999)}\n")
    with (folder / "movies.dat").open("w", encoding="latin-1") as f:
        for m in range(1, 3707):
            f.write(f"{m}::Movie {m} ({rng.randrange(1919, 2001)})::Drama|Comedy\n")
    # Sorted by user, as the real ratings.dat is.
    users = sorted(rng.randrange(1, 6041) for _ in range(1_000_209))
    with (folder / "ratings.dat").open("w", encoding="latin-1") as f:
        for user in users:
            f.write(f"{user}::{rng.randrange(1, 3707)}::{rng.randrange(1, 6)}::"
                    f"{rng.randrange(956703932, 1046454590)}\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", action="append", default=[], type=Path,
                        help="Your own MovieLens folder (repeatable).")
    parser.add_argument("--synthetic-1m", action="store_true",
                        help="Also time an ML-1M-sized made-up folder.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "import.jsonl")
    opts = parser.parse_args()

    jobs: list[tuple[str, list[str]]] = []
    for name in ("ml-100k", "ml-latest-small"):
        if (DATASETS / name).is_dir():
            jobs.append((name, ["movielens", str(DATASETS / name)]))
        else:
            print(f"skipped {name}: not found in {DATASETS}", file=sys.stderr)
    retail = DATASETS / "online-retail-ii" / "online_retail_II.parquet"
    if retail.exists():
        jobs.append(("online-retail-ii", ["online-retail", str(retail)]))
    for path in opts.movielens:
        jobs.append((path.name, ["movielens", str(path)]))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if opts.synthetic_1m:
            jobs.append(("ml-1m (synthetic, same size)",
                         ["movielens", str(synthetic_1m(work / "ml-1m-synthetic"))]))
        for name, args in jobs:
            result = {"data_set": name, **run_import(args, work)}
            key = "ml-1m" if name.startswith("ml-1m") else name
            if key in TARGETS:
                seconds, mib = TARGETS[key]
                result["target"] = f"< {seconds} s" + (f", < {mib} MiB" if mib else "")
                result["met"] = result["seconds"] < seconds and (
                    mib is None or (result["peak_rss_mib"] or 0) < mib)
            results.append(result)
            print(f"{name:32} {result['seconds']:>8} s  {result['peak_rss_mib']} MiB  "
                  f"{result['events']:>9,} events  {result['events_per_second']:>7,}/s",
                  file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    record = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "results": results}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    with opts.out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    if opts.json:
        print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
