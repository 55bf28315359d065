"""Seconds and peak memory of `tailored import` on real data sets, as a user runs it.

Each import runs `tailored import ...` in a fresh process on a fresh SQLite store, so the
figures include start-up, reading, validation, stitching and writing; peak RSS is the child
process's maximum resident set (getrusage). MovieLens 1M and 20M are not in
../shared/datasets: pass your own folder with --movielens PATH, or --synthetic-1m to time a
made-up folder of ML-1M's exact shape (6,040 users, 3,706 movies, 1,000,209 ratings in the
1M layout) — a stand-in for the real file's size, not its content — and --synthetic-20m for
one of ML-20M's shape (138,493 users, 27,278 movies, 20,000,263 ratings in the CSV layout of
ml-20m, sorted by user then movie as the real ratings.csv is; about 530 MB on disk, written
to a temporary folder and removed afterwards).

    python benchmarks/import_datasets.py                 # the shared data sets
    python benchmarks/import_datasets.py --synthetic-1m  # plus an ML-1M-sized folder
    python benchmarks/import_datasets.py --only-synthetic --synthetic-20m
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
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
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


def synthetic_20m(folder: Path) -> Path:
    """A folder in the ml-20m CSV layout with ML-20M's counts; ratings drawn at random.

    Written with NumPy in blocks of users: Python's own random module would take minutes.
    """
    import numpy as np

    n_users, n_movies, n_ratings = 138_493, 27_278, 20_000_263
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "movies.csv").open("w", encoding="utf-8") as f:
        f.write("movieId,title,genres\n")
        years = rng.integers(1915, 2016, n_movies)
        for m in range(1, n_movies + 1):
            f.write(f"{m},Movie {m} ({years[m - 1]}),Drama|Comedy\n")
    # Ratings per user: at least 20 (as in ML-20M), the rest spread at random.
    per_user = 20 + rng.multinomial(n_ratings - 20 * n_users, np.full(n_users, 1 / n_users))
    stars = np.arange(1, 11) / 2  # 0.5 to 5.0
    with (folder / "ratings.csv").open("w", encoding="utf-8") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for start in range(0, n_users, 5_000):
            counts = per_user[start:start + 5_000]
            users = np.repeat(np.arange(start + 1, start + 1 + len(counts)), counts)
            movies = rng.integers(1, n_movies + 1, len(users))
            # Sorted by user, then movie, as the real file is.
            order = np.lexsort((movies, users))
            rating = stars[rng.integers(0, 10, len(users))]
            when = rng.integers(789_652_009, 1_427_784_002, len(users))
            f.write("".join(f"{u},{m},{r:.1f},{t}\n" for u, m, r, t in zip(
                users[order].tolist(), movies[order].tolist(), rating.tolist(),
                when.tolist(), strict=True)))
    return folder


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../src"], cwd=HERE,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+dirty-src" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", action="append", default=[], type=Path,
                        help="Your own MovieLens folder (repeatable).")
    parser.add_argument("--synthetic-1m", action="store_true",
                        help="Also time an ML-1M-sized made-up folder.")
    parser.add_argument("--synthetic-20m", action="store_true",
                        help="Also time an ML-20M-sized made-up folder (20M ratings).")
    parser.add_argument("--only-synthetic", action="store_true",
                        help="Skip the shared data sets.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "import.jsonl")
    opts = parser.parse_args()

    load_before = [round(x, 2) for x in os.getloadavg()]
    jobs: list[tuple[str, list[str]]] = []
    for name in () if opts.only_synthetic else ("ml-100k", "ml-latest-small"):
        if (DATASETS / name).is_dir():
            jobs.append((name, ["movielens", str(DATASETS / name)]))
        else:
            print(f"skipped {name}: not found in {DATASETS}", file=sys.stderr)
    retail = DATASETS / "online-retail-ii" / "online_retail_II.parquet"
    if retail.exists() and not opts.only_synthetic:
        jobs.append(("online-retail-ii", ["online-retail", str(retail)]))
    for path in opts.movielens:
        jobs.append((path.name, ["movielens", str(path)]))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if opts.synthetic_1m:
            jobs.append(("ml-1m (synthetic, same size)",
                         ["movielens", str(synthetic_1m(work / "ml-1m-synthetic"))]))
        if opts.synthetic_20m:
            started = time.perf_counter()
            folder = synthetic_20m(work / "ml-20m-synthetic")
            print(f"wrote the ML-20M-sized folder in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
            jobs.append(("ml-20m (synthetic, same size)", ["movielens", str(folder)]))
        for name, args in jobs:
            result = {"data_set": name, **run_import(args, work)}
            key = "ml-1m" if name.startswith("ml-1m") else (
                "ml-20m" if name.startswith("ml-20m") else name)
            if key in TARGETS:
                seconds, mib = TARGETS[key]
                result["target"] = f"< {seconds} s" + (f", < {mib} MiB" if mib else "")
                result["met"] = result["seconds"] < seconds and (
                    mib is None or (result["peak_rss_mib"] or 0) < mib)
            results.append(result)
            print(f"{name:32} {result['seconds']:>8} s (CPU {result['cpu_seconds']} s)  "
                  f"{result['peak_rss_mib']} MiB  "
                  f"{result['events']:>9,} events  {result['events_per_second']:>7,}/s",
                  file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    record = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": "python benchmarks/import_datasets.py " + " ".join(sys.argv[1:]),
              "git": git_revision(), "loadavg_before": load_before,
              "loadavg_after": [round(x, 2) for x in os.getloadavg()], "results": results}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    with opts.out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    if opts.json:
        print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
