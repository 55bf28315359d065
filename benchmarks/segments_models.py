"""RFM, clustering and classifier segments measured on real and demo data.

* **RFM from the store** for every customer of Online Retail II and CDNOW (each imported into a
  fresh SQLite store first, not timed): `tailored segment rfm --json` as a user runs it
  (snapshot of the store + scores + groups saved as segments and traits; its own `seconds`,
  and the wall time of the whole process), then the parts in process — snapshot, scores on
  DuckDB, scores on PostgreSQL (loading the snapshot, then the query), and a peer: the same
  scores in plain pandas from the same snapshot, over the same customers and orders, whose
  groups must agree with ours. Also the groups with anonymous buyers included, and how many
  identified customers they would move to another group.
  Target: under 5 s from the store.
* **Clustering** on the demo shop (tailored.demo, 400 people, 120 days): adjusted Rand index
  of the clusters against the hidden taste segments, over the people the truth names, for
  each feature set, with k chosen by silhouette and with k = 6 (the true number).
* **Classifier segments**: test accuracy, F1 and ROC AUC beside the majority baseline, on the
  demo shop and Online Retail II, for "bought in the next 30 days" and an RFM group.

    .venv/bin/python benchmarks/segments_models.py            # all of it
    .venv/bin/python benchmarks/segments_models.py --skip-postgres --json
    .venv/bin/python benchmarks/segments_models.py --parts clustering
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tailored.analytics import opened
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.snapshots import export_snapshot

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _customers import identified  # noqa: E402
from _customers import orders as peer_orders  # noqa: E402

DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))
TAILORED = Path(sys.executable).with_name("tailored")
PG_URL = os.environ.get("TAILORED_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_SECONDS = 5.0


def revision() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True,
                           text=True, cwd=HERE).stdout.strip()
    return rev + ("+dirty-src" if dirty else "")


def pandas_rfm(folder: Path, as_of: datetime) -> pd.DataFrame:
    """The peer: RFM scores and groups in plain pandas from the snapshot, over the same
    customers and orders (benchmarks/_customers.py)."""
    from tailored.segments.rfm import RFM_GRID

    placed = peer_orders(folder, as_of)
    orders = placed[placed.profile_id.isin(identified(folder))]
    g = orders.groupby("profile_id")
    df = pd.DataFrame({"last": g.timestamp.max(), "frequency": g.size(),
                       "monetary": g.value.sum().round(2)})
    df["recency_days"] = ((as_of - df["last"]).dt.total_seconds() / 86400).round(4)
    n = len(df)

    def score(values: pd.Series, ascending: bool) -> np.ndarray[Any, Any]:
        rank = values.rank(method="min", ascending=ascending).to_numpy() - 1
        return (rank * 5 // n + 1).astype(int)

    df["r_score"] = score(df.recency_days, ascending=False)
    df["f_score"] = score(df.frequency, ascending=True)
    df["m_score"] = score(df.monetary, ascending=True)
    fm = np.floor((df.f_score + df.m_score) / 2 + 0.5).astype(int)
    df["group"] = np.array(RFM_GRID, dtype=object)[df.r_score - 1, fm - 1]
    return df


def import_into(name: str, records: Any, work: Path) -> tuple[str, float]:
    url = f"sqlite:///{work / name}.db"
    store = Store.open(url)
    started = time.perf_counter()
    Ingestor(store).ingest(records)
    store.close()
    return url, round(time.perf_counter() - started, 2)


def rfm_from_store(name: str, url: str, work: Path, *, postgres: bool) -> dict[str, Any]:
    from tailored.segments.rfm import compute_rfm

    out: dict[str, Any] = {"data_set": name}
    started = time.perf_counter()
    proc = subprocess.run([str(TAILORED), "--db", url, "segment", "rfm", "--json"],
                          capture_output=True, text=True, cwd=work)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"tailored segment rfm failed: {proc.stderr.strip()}")
    cli = json.loads(proc.stdout)
    out.update(customers=cli["customers"], groups=cli["groups"],
               cli_seconds=cli["seconds"], cli_timings=cli["timings"],
               process_wall_seconds=round(wall, 2), target=f"< {TARGET_SECONDS} s",
               met=cli["seconds"] < TARGET_SECONDS)
    store = Store.open(url)
    folder = work / f"{name}-snapshot"
    t0 = time.perf_counter()
    export_snapshot(store, folder)
    out["snapshot_seconds"] = round(time.perf_counter() - t0, 3)
    store.close()
    with opened(folder) as source:
        t0 = time.perf_counter()
        ours = compute_rfm(source)
        out["duckdb_rfm_seconds"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        everyone = compute_rfm(source, include_anonymous=True)
        out["excluded"] = ours.population.excluded
        out["with_anonymous"] = {"customers": len(everyone.customers),
                                 "groups": everyone.groups,
                                 "seconds": round(time.perf_counter() - t0, 3)}
        # Identified customers whose group the anonymous buyers would change.
        both = ours.customers.set_index("profile_id")["group"].to_frame("alone").join(
            everyone.customers.set_index("profile_id")["group"].rename("with"))
        out["identified_moved_by_anonymous"] = int((both["alone"] != both["with"]).sum())
    t0 = time.perf_counter()
    peer = pandas_rfm(folder, ours.as_of)
    out["pandas_peer_seconds"] = round(time.perf_counter() - t0, 3)
    mine = ours.customers.set_index("profile_id")
    out["peer_groups_agree"] = float((peer["group"].reindex(mine.index) == mine["group"]).mean())
    out["frequency_thresholds"] = ours.thresholds["frequency"]
    if postgres:
        t0 = time.perf_counter()
        with opened(folder, "postgres", url=PG_URL, schema="bench_segments") as source:
            loaded = time.perf_counter()
            pg = compute_rfm(source)
            done = time.perf_counter()
        out["postgres_load_seconds"] = round(loaded - t0, 3)
        out["postgres_rfm_seconds"] = round(done - loaded, 3)
        out["postgres_groups_equal"] = pg.groups == ours.groups
    return out


def demo_shop(work: Path) -> tuple[Path, dict[str, str], float]:
    from tailored.demo import ShopConfig, generate_shop, read_shop_records, write_shop

    shop = generate_shop(ShopConfig(people=400, items=300, days=120, seed=7))
    write_shop(shop, work / "shop")
    url, seconds = import_into("shop", read_shop_records(work / "shop"), work)
    store = Store.open(url)
    export_snapshot(store, work / "shop-snapshot")
    store.close()
    segments = {uid: p["segment"] for uid, p in shop.truth["people"].items()}
    return work / "shop-snapshot", segments, seconds


def clustering_ari(folder: Path, truth: dict[str, str]) -> list[dict[str, Any]]:
    from sklearn.metrics import adjusted_rand_score

    from tailored.segments.clustering import cluster_customers

    rows = []
    with opened(folder) as source:
        users = source.profiles.select("profile_id", "user_id").execute()
        user_of = users.set_index("profile_id")["user_id"]
        for features in ("behaviour", "taste", "all"):
            for k in (None, 6):
                t0 = time.perf_counter()
                result = cluster_customers(source, features=features, n_clusters=k)
                seconds = time.perf_counter() - t0
                who = user_of.reindex(result.labels.index)
                known = who.isin(truth.keys()).to_numpy()
                ari = adjusted_rand_score([truth[u] for u in who[known]],
                                          result.labels[known])
                rows.append({"features": features, "k_asked": k, "k": result.model.n_clusters_,
                             "ari": round(float(ari), 4), "people_scored": int(known.sum()),
                             "customers": int(result.labels.size),
                             "seconds": round(seconds, 2)})
                print(f"  cluster {features:9} k={k!s:4} → k={result.model.n_clusters_} "
                      f"ARI {ari:.3f}", file=sys.stderr)
    return rows


def classifiers(name: str, folder: Path, targets: list[str]) -> list[dict[str, Any]]:
    from tailored.segments.learning import learn_segment
    from tailored.segments.rfm import compute_rfm

    rows = []
    with opened(folder) as source:
        groups = compute_rfm(source).members()
        for target in targets:
            for model, select in (("tree", None), ("logistic", None), ("tree", "chi2"),
                                  ("logistic", "mutual_info")):
                lookup = (lambda g: groups.get(g.removeprefix("rfm:")))  # noqa: E731
                t0 = time.perf_counter()
                result = learn_segment(source, target, model=model, select=select,
                                       k_features=5, lookup=lookup,
                                       known=[f"rfm:{g}" for g in groups])
                m = result.metrics
                rows.append({"data_set": name, "target": target, "model": model,
                             "select": select, "seconds": round(time.perf_counter() - t0, 2),
                             **{k: m.get(k) for k in ("customers", "members", "accuracy",
                                                      "baseline_accuracy", "balanced_accuracy",
                                                      "f1", "roc_auc")},
                             "top_rule": result.explanation[0]["text"]
                             if result.explanation else None})
                print(f"  learn {name} {target:18} {model:8} {select or '-':11} "
                      f"acc {m['accuracy']:.3f} (baseline {m['baseline_accuracy']:.3f}) "
                      f"balanced {m['balanced_accuracy']:.3f} "
                      f"F1 {m['f1']:.3f} AUC {m.get('roc_auc', float('nan')):.3f}",
                      file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--parts", default="rfm,clustering,classifiers",
                        help="Comma-separated parts to run (default: all three).")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    parser.add_argument("--out", type=Path,
                        default=HERE / "results" / "segments_models.jsonl")
    opts = parser.parse_args()
    parts = set(opts.parts.split(","))
    from tailored.ingest.sources.cdnow import read_cdnow
    from tailored.ingest.sources.online_retail import read_online_retail

    record: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                              "command": " ".join(sys.argv), "revision": revision(),
                              "cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-segments-") as tmp:
        work = Path(tmp)
        rfm_rows, learn_rows = [], []
        sets = [("online-retail-ii", DATASETS / "online-retail-ii" / "online_retail_II.parquet",
                 read_online_retail),
                ("cdnow", DATASETS / "cdnow" / "CDNOW_master.txt.gz", read_cdnow)]
        for name, path, reader in sets:
            if not parts & {"rfm", "classifiers"}:
                break
            if not path.exists():
                print(f"skipped {name}: {path} not found", file=sys.stderr)
                continue
            url, import_seconds = import_into(name, reader(path), work)
            row = rfm_from_store(name, url, work, postgres=not opts.skip_postgres)
            row["import_seconds_untimed_part"] = import_seconds
            rfm_rows.append(row)
            print(f"  rfm {name}: {row['customers']:,} customers, CLI {row['cli_seconds']} s "
                  f"(snapshot {row['cli_timings']['source']} s), DuckDB scores "
                  f"{row['duckdb_rfm_seconds']} s, pandas peer {row['pandas_peer_seconds']} s, "
                  f"groups agree {row['peer_groups_agree']:.3f}", file=sys.stderr)
            if name == "online-retail-ii" and "classifiers" in parts:
                learn_rows += classifiers(name, work / f"{name}-snapshot",
                                          ["next-purchase:30", "rfm:Champions"])
        shop, truth, _ = demo_shop(work)
        if "clustering" in parts:
            record["clustering"] = clustering_ari(shop, truth)
        if "classifiers" in parts:
            learn_rows += classifiers("demo-shop", shop, ["next-purchase:30", "rfm:Loyal"])
        record["rfm"] = rfm_rows
        record["classifiers"] = learn_rows
    record["loadavg_after"] = os.getloadavg()
    if opts.out and str(opts.out):
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        with opts.out.open("a") as f:
            f.write(json.dumps(record, default=str) + "\n")
    if opts.json:
        print(json.dumps(record, indent=2, default=str))


if __name__ == "__main__":
    main()
