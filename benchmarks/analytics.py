"""Every analytics query of `tailored analyze`, timed on DuckDB and on PostgreSQL.

Imports MovieLens 100K and Online Retail II into a fresh SQLite store each (through the real
import path; timed apart), exports a snapshot, opens it on each engine (for PostgreSQL the
snapshot is loaded into a schema first: timed as ``load``) and times each query from
building the Ibis expression to having the rows in Python — best and median of ``--repeat``
runs. DuckDB reads the Parquet files in place; PostgreSQL runs the same expressions on its
copy. Larger data: pass your own ``--movielens`` folder (1M, 20M layouts) or Online Retail
file; ``--store-dir`` keeps the imported stores and snapshots to rerun without importing.

    .venv/bin/python benchmarks/analytics.py                      # both data sets, both engines
    .venv/bin/python benchmarks/analytics.py --no-postgres --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def queries(source: Any, dataset: str) -> dict[str, Callable[[], Any]]:
    """The queries timed: each returns something materialised (rows, or a report)."""
    from tailored import analytics as a

    def rows(make: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: make().to_pyarrow()

    q: dict[str, Callable[[], Any]] = {
        "views by item": rows(lambda: a.views(source, by="item")),
        "views by category": rows(lambda: a.views(source, by="category", level=1)),
        "people": rows(lambda: a.people(source)),
        "sessions summary": rows(lambda: a.session_summary(source, include_server=True)),
        "cohorts by month": rows(lambda: a.retention(source, period="month")),
        "timeseries by week + forecast": lambda: a.timeseries(source, period="week", horizon=4),
        "needs (favourites, top 3)": rows(lambda: a.favourites(source, top=3)),
        "needs (price ranges)": rows(lambda: a.price_ranges(source)),
        "ratings by month": rows(lambda: a.ratings(source, period="month")),
        "repeat purchases": rows(lambda: a.repeat_purchases(source)),
    }
    if dataset == "ml-100k":
        q["funnel Rated → Rated"] = rows(lambda: a.funnel(source, ["Product Rated",
                                                                  "Product Rated"]))
        for trait in ("age", "gender", "occupation"):
            q[f"demographics {trait}"] = rows(lambda t=trait: a.crosstab(source, t))
        q["ratings by age"] = rows(lambda: a.ratings(source, by="age"))
        q["cohorts by age"] = rows(lambda: a.retention(source, period="month", by="age"))
    else:
        q["funnel Completed → Completed"] = rows(lambda: a.funnel(
            source, ["Order Completed", "Order Completed"], by="platform"))
        q["demographics country"] = rows(lambda: a.crosstab(source, "country"))
        q["repeat purchases by country"] = rows(lambda: a.repeat_purchases(source,
                                                                          by="country"))
    return q


def prepare(dataset: str, path: Path, work: Path) -> tuple[Path, dict[str, Any]]:
    """The data set imported into a SQLite store in ``work`` and exported; reused if there."""
    from tailored.ingest import Ingestor
    from tailored.ingest.sources.movielens import read_movielens
    from tailored.ingest.sources.online_retail import read_online_retail
    from tailored.store import Store
    from tailored.store.snapshots import export_snapshot

    folder = work / f"{dataset}-snapshot"
    info: dict[str, Any] = {}
    if (folder / "manifest.json").exists():
        info["tables"] = json.loads((folder / "manifest.json").read_text())["tables"]
        return folder, info
    store = Store.open(f"sqlite:///{work / f'{dataset}.db'}")
    try:
        started = time.perf_counter()
        records = read_movielens(path) if dataset == "ml-100k" else read_online_retail(path)
        report = Ingestor(store).ingest(records)
        info["import_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        manifest = export_snapshot(store, folder)
        info["export_seconds"] = round(time.perf_counter() - started, 2)
        info["tables"] = manifest["tables"]
        info["rejected"] = len(report.rejected)
    finally:
        store.close()
    return folder, info


def time_all(folder: Path, dataset: str, backend: str, url: str | None, repeat: int
             ) -> dict[str, Any]:
    from tailored.analytics import opened

    started = time.perf_counter()
    out: dict[str, Any] = {"data_set": dataset, "backend": backend, "queries": {}}
    with opened(folder, backend, url=url, schema="analytics_bench") as source:
        out["load_seconds"] = round(time.perf_counter() - started, 3)
        for name, run in queries(source, dataset).items():
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                result = run()
                times.append(time.perf_counter() - t)
            n = result.num_rows if hasattr(result, "num_rows") else len(result["rows"])
            out["queries"][name] = {"best": round(min(times), 4),
                                    "median": round(statistics.median(times), 4), "rows": n}
    out["total_best_seconds"] = round(sum(q["best"] for q in out["queries"].values()), 3)
    if url is not None:
        import psycopg

        from tailored.analytics.source import _pg_url

        with psycopg.connect(_pg_url(url), autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS analytics_bench CASCADE")
    return out


def markdown(record: dict[str, Any]) -> str:
    """One table: a row per query, a column per data set and engine (best seconds)."""
    runs = record["results"]
    head = [f"{r['data_set']} {r['backend']}" for r in runs]
    names: list[str] = []
    for r in runs:
        names += [n for n in r["queries"] if n not in names]
    lines = ["| query | " + " | ".join(head) + " |", "|---" * (len(runs) + 1) + "|"]
    for name in names:
        cells = [f"{r['queries'][name]['best']:.3f}" if name in r["queries"] else "" for r in
                 runs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| *load the snapshot into the engine* | " + " | ".join(
        f"{r['load_seconds']:.2f}" for r in runs) + " |")
    lines.append("| *all queries* | " + " | ".join(
        f"{r['total_best_seconds']:.2f}" for r in runs) + " |")
    return "\n".join(lines)


def revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True,
                              text=True).stdout.strip()
    rev = git("rev-parse", "--short", "HEAD")
    return rev + ("+dirty-src" if git("status", "--porcelain", "src") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, default=DATASETS / "ml-100k")
    parser.add_argument("--retail", type=Path,
                        default=DATASETS / "online-retail-ii" / "online_retail_II.parquet")
    parser.add_argument("--pg-url", default=os.environ.get("TAILORED_TEST_POSTGRES_URL",
                                                           PG_URL))
    parser.add_argument("--no-postgres", action="store_true", help="DuckDB only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store-dir", type=Path, help="keep (and reuse) stores here")
    parser.add_argument("--out", default=str(HERE / "results" / "analytics.jsonl"))
    parser.add_argument("--json", action="store_true", help="print only JSON")
    parser.add_argument("--markdown", action="store_true",
                        help="print the last recorded run as a Markdown table and stop")
    args = parser.parse_args()
    if args.markdown:
        last = Path(args.out).read_text().strip().splitlines()[-1]
        print(markdown(json.loads(last)))
        return
    work = args.store_dir or Path(tempfile.mkdtemp(prefix="analytics-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "command": " ".join(sys.argv),
        "revision": revision(), "cpus": os.cpu_count(), "loadavg_before": os.getloadavg(),
        "repeat": args.repeat, "data_sets": {}, "results": []}
    for dataset, path in (("ml-100k", args.movielens), ("online-retail-ii", args.retail)):
        if not path.exists():
            print(f"skipped {dataset}: not found at {path}", file=sys.stderr)
            continue
        folder, info = prepare(dataset, path, work)
        record["data_sets"][dataset] = info
        for backend in ("duckdb", "postgres"):
            if backend == "postgres" and args.no_postgres:
                continue
            url = args.pg_url if backend == "postgres" else None
            record["results"].append(time_all(folder, dataset, backend, url, args.repeat))
    record["loadavg_after"] = os.getloadavg()
    if args.out:
        Path(args.out).parent.mkdir(exist_ok=True)
        with open(args.out, "a") as fh:
            fh.write(json.dumps(record) + "\n")
    if args.json:
        print(json.dumps(record))
        return
    for r in record["results"]:
        print(f"\n{r['data_set']} on {r['backend']} (load {r['load_seconds']} s, total "
              f"{r['total_best_seconds']} s)")
        for name, q in r["queries"].items():
            print(f"  {name:<34} {q['best']:>8.3f} s  (median {q['median']:.3f}, "
                  f"{q['rows']} rows)")


if __name__ == "__main__":
    main()
