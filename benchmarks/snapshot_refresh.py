"""`tailored segment rfm --json` on a store holding Online Retail II, run after run: the
store's kept snapshot is written once, then reused, extended with new events, and rebuilt
where an erasure removed someone.

Runs the real console program (as a user does), in a fresh SQLite store by default:

1. ``tailored import online-retail PATH`` (timed apart);
2. ``segment rfm --json`` twice: the first run writes the snapshot, the second reuses it
   (target: under 5 s, command and wall clock);
3. 200 new orders ingested (``tailored ingest``), then ``segment rfm`` again: only new
   parts are written;
4. one customer erased (``tailored erase``, which brings the snapshot up to date), then
   ``segment rfm`` again;
5. the peer, in the same run: what every analytics command did before the snapshot was kept,
   a full export of the same store into an empty folder (``tailored export``).

For each run: the command's own seconds and timings, wall-clock seconds, CPU seconds (user +
system: on a shared machine the wall clock says more about the neighbours), and how many of
the snapshot's files were written.

    python benchmarks/snapshot_refresh.py [--retail PATH] [--db URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))
TAILORED = Path(sys.executable).with_name("tailored")
TARGET_SECONDS = 5.0


def revision() -> str:
    """The git revision measured, marked when src/ had uncommitted changes."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True,
                           text=True, cwd=HERE).stdout.strip()
    return rev + ("+dirty-src" if dirty else "")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _files(folder: Path) -> dict[str, int]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and p.name != ".lock"}


def tailored(env: dict[str, str], *args: str) -> tuple[dict[str, Any], float, float]:
    """Run the console program; its JSON answer, wall seconds and CPU seconds."""
    cpu, started = _cpu(), time.perf_counter()
    proc = subprocess.run([str(TAILORED), *args], env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"tailored {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout), wall, cpu


def rfm_run(env: dict[str, str], snapshot: Path, label: str) -> dict[str, Any]:
    before = _files(snapshot)
    data, wall, cpu = tailored(env, "segment", "rfm", "--json")
    after = _files(snapshot)
    written = sum(1 for name, t in after.items() if before.get(name) != t)
    return {"run": label, "seconds": data["seconds"], "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2), "timings": data["timings"],
            "customers": data["customers"], "snapshot_files": len(after),
            "snapshot_files_written": written,
            "met": data["seconds"] < TARGET_SECONDS and wall < TARGET_SECONDS}


def new_orders(snapshot: Path, n: int = 200) -> str:
    """``n`` orders by existing customers: half on the last day, half on the day after."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from tailored.store.snapshot_files import read_snapshot_table

    users = [u for u in read_snapshot_table(snapshot, "profiles", ["user_id"])
             ["user_id"].to_pylist() if u][:n]
    last = max(read_snapshot_table(snapshot, "events", ["timestamp"])["timestamp"]
               .to_pylist())
    lines = []
    for i, user in enumerate(users):
        at = last + timedelta(days=i % 2, minutes=i)
        lines.append(json.dumps({
            "type": "track", "event": "Order Completed", "userId": user,
            "messageId": f"bench-order-{i}-{time.time_ns()}", "timestamp": at.isoformat(),
            "properties": {"order_id": f"bench-{i}", "products": [
                {"product_id": "85123A", "quantity": 2, "price": 2.55}]}}))
    return "\n".join(lines) + "\n"


def run(retail: Path, db: str | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="snapshot-bench-"))
    snapshot = work / "store-snapshot"
    env = {**os.environ, "TAILORED_DATABASE_URL": db or f"sqlite:///{work / 'store.db'}",
           "TAILORED_SNAPSHOT_DIR": str(snapshot), "NO_COLOR": "1"}
    out: dict[str, Any] = {"data_set": retail.name, "revision": revision(),
                           "store": "postgresql" if db else "sqlite", "cpus": os.cpu_count(),
                           "load_average": os.getloadavg()[0]}
    report, wall, _ = tailored(env, "import", "online-retail", str(retail), "--json")
    out["import"] = {"events": report["accepted"], "wall_seconds": round(wall, 2)}
    runs = [rfm_run(env, snapshot, "first (writes the snapshot)"),
            rfm_run(env, snapshot, "second (reuses it)")]
    (work / "orders.jsonl").write_text(new_orders(snapshot))
    tailored(env, "ingest", str(work / "orders.jsonl"), "--json")
    runs.append(rfm_run(env, snapshot, "after 200 new orders (appends)"))
    erased, wall, _ = tailored(env, "erase", "13085", "--yes", "--json")
    out["erase"] = {"wall_seconds": round(wall, 2), "events": erased["rows"]["events"]}
    runs.append(rfm_run(env, snapshot, "after an erasure"))
    runs.append(rfm_run(env, snapshot, "again (reuses it)"))
    out["runs"] = runs
    fresh, wall, cpu = tailored(env, "export", "--out", str(work / "fresh"), "--json")
    out["peer_full_export"] = {"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                               "export_seconds": fresh["refresh"]["seconds"],
                               "events": fresh["tables"]["events"],
                               "interactions": fresh["tables"]["interactions"]}
    out["load_average_after"] = os.getloadavg()[0]
    return out


def markdown(out: dict[str, Any]) -> str:
    lines = ["| run | command s | wall s | CPU s | snapshot · rfm · save s | files written |",
             "|---|---:|---:|---:|---|---:|"]
    for r in out["runs"]:
        t = r["timings"]
        lines.append(f"| {r['run']} | {r['seconds']} | {r['wall_seconds']} | "
                     f"{r['cpu_seconds']} | {t['source']} · {t['rfm']} · {t['save']} | "
                     f"{r['snapshot_files_written']} of {r['snapshot_files']} |")
    p = out["peer_full_export"]
    lines.append(f"| *peer: full export into an empty folder* | {p['export_seconds']} | "
                 f"{p['wall_seconds']} | {p['cpu_seconds']} | | all |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--retail", type=Path,
                        default=DATASETS / "online-retail-ii" / "online_retail_II.parquet")
    parser.add_argument("--db", help="an empty store to import into (default: a new SQLite "
                        "file in a temporary folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = run(args.retail, args.db)
    print(json.dumps(out, indent=2) if args.json else markdown(out))


if __name__ == "__main__":
    main()
