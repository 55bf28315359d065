"""Predictions on real retail data: lifetime value beside `lifetimes`, propensity and churn
beside the recency baseline.

For each data set (the CDNOW 1/10 sample and full set, Online Retail II 2009-10), the
importer writes a fresh SQLite store, a snapshot is exported, and then:

* lifetime value: our BG/NBD + Gamma-Gamma (pymc-marketing, MAP under flat priors) fitted
  on the calibration period and checked on the holdout (per-customer MAE of purchase days,
  the aggregate cumulative repeat-purchase curve), beside the `lifetimes` library fitted on
  the same purchases and dates in the same run. lifetimes fails on pandas 3, so it runs in
  its own virtualenv as a subprocess (see benchmarks/_lifetimes_peer.py; skipped, saying so,
  when .venv-peers is absent). With --pareto, our Pareto/NBD and MBG/NBD too.
* propensity and churn: ROC AUC (and the rest) of logistic regression, random forest and
  gradient boosting on a temporal holdout, beside the recency-only baseline.

    .venv/bin/python benchmarks/predict.py                    # every data set
    .venv/bin/python benchmarks/predict.py --data cdnow-sample --pareto --json
    .venv/bin/python benchmarks/predict.py --online-retail ~/data/online_retail_II.xlsx

Results are appended to benchmarks/results/predict.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", ROOT.parent / "shared" / "datasets"))
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"

# name -> (importer, file, calibration end, holdout end, time unit, propensity cut-off,
# horizon days). CDNOW's dates are Fader, Hardie and Lee's (2005): 39 weeks and 39 more.
PLANS: dict[str, tuple[str, str, date, date, str, date, int]] = {
    "cdnow-sample": ("cdnow", "cdnow/CDNOW_sample.txt.gz", date(1997, 9, 30),
                     date(1998, 6, 30), "weeks", date(1998, 1, 1), 90),
    "cdnow-master": ("cdnow", "cdnow/CDNOW_master.txt.gz", date(1997, 9, 30),
                     date(1998, 6, 30), "weeks", date(1998, 1, 1), 90),
    "online-retail-ii": ("online-retail", "online-retail-ii/online_retail_II.parquet",
                         date(2010, 8, 31), date(2010, 12, 9), "weeks", date(2010, 9, 1), 90),
}


def _git() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return rev + ("+dirty-src" if dirty else "")


def _snapshot(kind: str, path: Path, work: Path) -> tuple[Path, float]:
    from tailored.ingest import Ingestor
    from tailored.store import Store
    from tailored.store.snapshots import export_snapshot

    if kind == "cdnow":
        from tailored.ingest.sources.cdnow import read_cdnow as read
    else:
        from tailored.ingest.sources.online_retail import read_online_retail as read
    started = time.perf_counter()
    with Store.open(f"sqlite:///{work / 'bench.db'}") as store:
        Ingestor(store).ingest(read(path))
        export_snapshot(store, work / "snap")
    return work / "snap", round(time.perf_counter() - started, 1)


def _peer(source: Any, cal_end: date, hold_end: date, unit: str, work: Path
          ) -> dict[str, Any]:
    from tailored.predict.purchases import day_of, purchase_days

    if not PEER_PYTHON.exists():
        return {"skipped": f"no {PEER_PYTHON}: see benchmarks/requirements-lifetimes.txt"}
    days = purchase_days(source).execute()
    days["date"] = [day_of(d) for d in days["day"]]
    csv = work / "purchases.csv"
    days.rename(columns={"profile_id": "customer"})[["customer", "date", "value"]].to_csv(
        csv, index=False)
    done = subprocess.run([str(PEER_PYTHON), str(HERE / "_lifetimes_peer.py"), str(csv),
                           str(cal_end), str(hold_end), unit], capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout)


def _curve_error(curve: list[dict[str, Any]]) -> dict[str, float]:
    """Mean absolute error of the cumulative curve over its weeks, and at the end."""
    gaps = [abs(p["predicted"] - p["actual"]) for p in curve]
    last = curve[-1]
    return {"curve_mae": round(sum(gaps) / len(gaps), 1),
            "end_actual": last["actual"], "end_predicted": last["predicted"]}


def run(name: str, path: Path, *, pareto: bool) -> dict[str, Any]:
    from tailored.analytics import opened
    from tailored.predict import run_lifetime_value, run_propensity

    kind, _, cal_end, hold_end, unit, cutoff, horizon = PLANS[name]
    out: dict[str, Any] = {"data": name, "path": str(path)}
    with tempfile.TemporaryDirectory(prefix="tailored-predict-") as tmp:
        work = Path(tmp)
        folder, out["import_seconds"] = _snapshot(kind, path, work)
        with opened(folder) as source:
            clv: dict[str, Any] = {}
            for model in ["bg-nbd", *(["mbg-nbd", "pareto-nbd"] if pareto else [])]:
                report, _ = run_lifetime_value(source, calibration_end=cal_end,
                                               holdout_end=hold_end, time_unit=unit,
                                               model=model)
                holdout = report["holdout"]
                curve = holdout.pop("curve")
                clv[model] = {"params": report["params"], "customers": report["customers"],
                              "holdout": holdout, **_curve_error(curve),
                              "seconds": report["seconds"]}
                if model == "bg-nbd":
                    clv["curve"] = curve
                print(f"{name} {model}: MAE {holdout['mae_purchases']}, "
                      f"{report['seconds']} s", file=sys.stderr)
            peer = _peer(source, cal_end, hold_end, unit, work)
            if "curve" in peer:
                peer.update(_curve_error(peer.pop("curve")))
            clv["peer_lifetimes"] = peer
            out["clv"] = {"calibration_end": str(cal_end), "holdout_end": str(hold_end),
                          "time_unit": unit, **clv}
            when = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
            for target in ("purchase", "churn"):
                report, _ = run_propensity(source, cutoff=when, horizon_days=horizon,
                                           target=target)
                out[target] = {
                    "cutoff": str(cutoff), "horizon_days": horizon,
                    "train": report["train"], "test": report["test"], "best": report["best"],
                    "roc_auc": {"recency_baseline": report["baseline"]["roc_auc"],
                                **{n: m["roc_auc"] for n, m in report["models"].items()}},
                    "pr_auc": {"recency_baseline": report["baseline"]["pr_auc"],
                               **{n: m["pr_auc"] for n, m in report["models"].items()}},
                    "lift_top_decile": {
                        "recency_baseline": report["baseline"]["lift_top_decile"],
                        **{n: m["lift_top_decile"] for n, m in report["models"].items()}},
                    "brier": {"recency_baseline": report["baseline"]["brier"],
                              **{n: m["brier"] for n, m in report["models"].items()}},
                    "seconds": report["seconds"],
                }
                print(f"{name} {target}: ROC AUC {out[target]['roc_auc']}", file=sys.stderr)
    return out


def _table(result: dict[str, Any]) -> str:
    lines = [f"## {result['data']}"]
    clv = result["clv"]
    peer = clv["peer_lifetimes"]
    lines.append("| CLV model | r | alpha | a / s | b / beta | holdout MAE | curve MAE | "
                 "end actual / predicted | s |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for model in ("bg-nbd", "mbg-nbd", "pareto-nbd"):
        if model in clv:
            m, p = clv[model], clv[model]["params"]
            lines.append(f"| ours {model} | {p['r']} | {p['alpha']} | {p.get('a', p.get('s'))} "
                         f"| {p.get('b', p.get('beta'))} | {m['holdout']['mae_purchases']} | "
                         f"{m['curve_mae']} | {m['end_actual']} / {m['end_predicted']} | "
                         f"{m['seconds']} |")
    if "params" in peer:
        p = peer["params"]
        lines.append(f"| lifetimes bg/nbd | {p['r']} | {p['alpha']} | {p['a']} | {p['b']} | "
                     f"{peer['holdout']['mae_purchases']} | {peer['curve_mae']} | "
                     f"{peer['end_actual']} / {peer['end_predicted']} | {peer['seconds']} |")
    else:
        lines.append(f"| lifetimes | {peer} |")
    for target in ("purchase", "churn"):
        t = result[target]
        aucs = ", ".join(f"{k} {v}" for k, v in t["roc_auc"].items())
        lines.append(f"\n{target} ({t['horizon_days']} days from {t['cutoff']}, "
                     f"{t['test']['people']} people): ROC AUC {aucs}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", choices=list(PLANS),
                    help="data sets to run (repeatable); default all")
    ap.add_argument("--online-retail", type=Path, help="your own Online Retail file")
    ap.add_argument("--pareto", action="store_true", help="also MBG/NBD and Pareto/NBD")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--out", default=str(HERE / "results" / "predict.jsonl"))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    load_before = os.getloadavg()
    results = []
    for name in args.data or list(PLANS):
        path = (args.online_retail if name == "online-retail-ii" and args.online_retail
                else DATASETS / PLANS[name][1])
        if not path.exists():
            print(f"skipped {name}: {path} not found", file=sys.stderr)
            continue
        results.append(run(name, path, pareto=args.pareto))
    record = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": " ".join(["benchmarks/predict.py", *sys.argv[1:]]), "git": _git(),
              "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
              "load_after": [round(x, 2) for x in os.getloadavg()], "results": results}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(record) + "\n")
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print("\n\n".join(_table(r) for r in results))


if __name__ == "__main__":
    main()
