"""Lifecycle and rule segments for every customer of Online Retail II, from the store.

Imports the data set into a fresh SQLite store (timed apart), then times what `tailored
segment lifecycle` does: a snapshot of the store, the percentile thresholds, every lifecycle
segment in one query, and recording the membership (target: all of it under 5 s). Then a
rule segment with an event window, a metric and a trait, and the one-person path
(`segment check`) for a sample of customers. DuckDB always; PostgreSQL too with --postgres.
The peer: the same recency, frequency and spend segments in plain pandas over the same
snapshot, in the same run (its sizes must equal ours).

    python benchmarks/segments.py [--retail PATH] [--db URL] [--postgres URL] [--json]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the peers' shared helpers (_customers.py)
DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))
RULE = {"all": [{"event": "Order Completed", "count": {">=": 3}, "within_days": 90},
                {"metric": "avg_order_value", ">": 50},
                {"trait": "country", "=": "United Kingdom"}]}
TARGET_SECONDS = 5.0


def revision() -> str:
    """The git revision measured, marked when src/ had uncommitted changes."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True,
                           text=True, cwd=HERE).stdout.strip()
    return rev + ("+dirty-src" if dirty else "")


def pandas_lifecycle(folder: Path) -> tuple[dict[str, int], float]:
    """The peer: the recency, frequency and spend lifecycle segments in plain pandas from the
    snapshot's Parquet files, over the same customers and orders (income left out: this data
    has none). Returns sizes, seconds."""
    import pandas as pd

    from _customers import identified
    from _customers import orders as peer_orders
    from tailored.store.snapshot_files import read_snapshot_table

    started = time.perf_counter()
    ev = read_snapshot_table(folder, "events", columns=["profile_id", "timestamp"]).to_pandas()
    ix = read_snapshot_table(folder, "interactions", columns=["profile_id"]).to_pandas()
    at = ev.timestamp.max()
    seen = ev.groupby("profile_id").timestamp.agg(["min", "max"])
    orders = peer_orders(folder)
    g = orders.groupby("profile_id")
    # Customers only (a user id or an e-mail), with an interaction or an order.
    people = set(ix.profile_id.dropna()) | set(orders.profile_id)
    f = pd.DataFrame(index=sorted(people & identified(folder)))
    f["orders"] = g.size().reindex(f.index).fillna(0)
    f["purchase_days"] = g.timestamp.agg(lambda t: t.dt.date.nunique()).reindex(
        f.index).fillna(0)
    f["revenue"] = g.value.sum().reindex(f.index).fillna(0)
    f["recency_days"] = (at - seen["max"].reindex(f.index)).dt.total_seconds() / 86400
    f["tenure_days"] = (at - seen["min"].reindex(f.index)).dt.total_seconds() / 86400
    buyers = f[f.orders > 0]
    q = {k: round(float(v), 2) for k, v in {
        "freq_high": buyers.purchase_days.quantile(0.8),
        "freq_low": buyers.purchase_days.quantile(0.2),
        "spend_high": buyers.revenue.quantile(0.8),
        "spend_low": buyers.revenue.quantile(0.2)}.items()}
    buyer = f.orders >= 1
    masks = {
        "new": f.tenure_days <= 30, "active": f.recency_days <= 30,
        "returning": (f.purchase_days >= 2) & (f.recency_days <= 90) & (f.tenure_days > 30),
        "at_risk": buyer & (f.recency_days > 90) & (f.recency_days <= 180),
        "churned": f.recency_days > 180,
        "high_frequency": f.purchase_days >= max(2.0, q["freq_high"]),
        "low_frequency": buyer & (f.purchase_days <= max(1.0, q["freq_low"])),
        "high_spend": buyer & (f.revenue >= q["spend_high"]),
        "low_spend": buyer & (f.revenue <= q["spend_low"]),
    }
    sizes = {name: int(mask.sum()) for name, mask in masks.items()}
    return sizes, time.perf_counter() - started


def run(retail: Path, db: str | None, postgres: str | None) -> dict[str, Any]:
    from tailored.analytics import opened
    from tailored.ingest import Ingestor
    from tailored.ingest.sources.online_retail import read_online_retail
    from tailored.segments import check_person, compute_lifecycle, define_segment
    from tailored.segments.compute import compute_segments
    from tailored.segments.membership import current_members
    from tailored.store import Store
    from tailored.store.snapshots import export_snapshot

    tmp = Path(tempfile.mkdtemp(prefix="segments-bench-"))
    out: dict[str, Any] = {"data_set": retail.name}
    store = Store.open(db or f"sqlite:///{tmp / 'store.db'}")
    started = time.perf_counter()
    if db is None:
        report = Ingestor(store).ingest(read_online_retail(retail))
        out["import_seconds"] = round(time.perf_counter() - started, 2)
        out["events"] = report.accepted
    backends = [("duckdb", None)] + ([("postgres", postgres)] if postgres else [])
    for backend, url in backends:
        started = time.perf_counter()
        folder = tmp / f"snap-{backend}"
        export_snapshot(store, folder)
        snapped = time.perf_counter()
        with opened(folder, backend, url=url, schema="segments_bench") as source:
            loaded = time.perf_counter()
            result = compute_lifecycle(store, source)
            done = time.perf_counter()
            define_segment(store, "bench_rule", RULE)
            rule_started = time.perf_counter()
            rule = compute_segments(store, source, ["bench_rule"])[0]
            rule_seconds = time.perf_counter() - rule_started
        total = done - started
        if backend == "duckdb":
            peer_sizes, peer_seconds = pandas_lifecycle(folder)
            out["pandas_peer"] = {
                "lifecycle_seconds_from_snapshot": round(peer_seconds, 3),
                "same_sizes": all(result["sizes"][n] == v for n, v in peer_sizes.items()),
                "sizes": peer_sizes}
        out[backend] = {
            "lifecycle_seconds_from_store": round(total, 3),
            "snapshot_seconds": round(snapped - started, 3),
            "load_seconds": round(loaded - snapped, 3),
            "lifecycle_seconds": round(done - loaded, 3),
            "sizes": result["sizes"], "thresholds": result["thresholds"],
            "target": f"< {TARGET_SECONDS} s", "met": total < TARGET_SECONDS,
            "rule_seconds": round(rule_seconds, 3), "rule_size": rule["size"],
        }
    sample = current_members(store, "bench_rule")[:50] or current_members(store, "active")[:50]
    times = []
    for pid in sample:
        t = time.perf_counter()
        check_person(store, "bench_rule", pid, record=False)
        times.append(time.perf_counter() - t)
    if times:
        out["check_person_ms"] = {"median": round(statistics.median(times) * 1000, 1),
                                  "max": round(max(times) * 1000, 1), "people": len(times)}
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retail", type=Path,
                        default=DATASETS / "online-retail-ii" / "online_retail_II.parquet")
    parser.add_argument("--db", help="an existing store with the data already imported")
    parser.add_argument("--postgres", help="also run on this PostgreSQL (analytics schema)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if not args.retail.exists() and args.db is None:
        sys.exit(f"data set not found: {args.retail} (give --retail PATH)")
    # The machine is shared: its load says how far the seconds can be trusted.
    load_before = [round(x, 1) for x in os.getloadavg()]
    results_ = [run(args.retail, args.db, args.postgres)]
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": " ".join(["benchmarks/segments.py", *sys.argv[1:]]),
              "revision": revision(), "results": results_, "cpus": os.cpu_count(),
              "load_before": load_before,
              "load_average": [round(x, 1) for x in os.getloadavg()]}
    results = HERE / "results" / "segments.jsonl"
    results.parent.mkdir(exist_ok=True)
    with results.open("a") as fh:
        fh.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
