"""Strong generalisation (Liang et al. 2018): the protocol of the published MovieLens-20M
tables, run on any MovieLens layout by path.

Users, not interactions, are split (``tailored.evaluate.strong_generalization_split``: ratings
above 3.5, users with 5 or more, seed 98765, ``--n-heldout`` validation and as many test
users; 10,000 each for ML-20M as in the paper, 50 by default for smaller sets). Models learn
from the training users only; each held-out user's 80 % is folded in as new events and the
other 20 % scored (``tailored.evaluate.fold_in.evaluate_fold_in``): Recall@20, Recall@50
(the paper's recall: hits / min(k, held-out)) and NDCG@100. Hyperparameters are tuned on
the validation users by NDCG@100, over a small grid; the test users are scored once.

The published figures (ML-20M, 10,000 held-out users each; Steck 2019 for EASE, Liang et
al. 2018 for Mult-VAE, Shenbin et al. 2020 for RecVAE) are printed beside ours for a user
who runs this on ML-20M; on the small sets here they are a reference point, not a peer:
the numbers of different data sets are not comparable.

    .venv/bin/python benchmarks/strong_generalization.py [--movielens PATH ...] [--n-heldout N]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = [Path("/work/shared/datasets/ml-latest-small"),
                Path("/work/shared/datasets/ml-100k")]
OUT = ROOT / "benchmarks" / "results" / "strong_generalization.jsonl"
PUBLISHED_ML20M = {  # Recall@20, Recall@50, NDCG@100
    "EASE (Steck 2019)": (0.391, 0.521, 0.420),
    "Mult-VAE (Liang et al. 2018)": (0.395, 0.537, 0.426),
    "RecVAE (Shenbin et al. 2020)": (0.414, 0.553, 0.442),
}
GRIDS: dict[str, list[dict[str, Any]]] = {
    "popular": [{}],
    "item-knn": [{"neighbors": n} for n in (50, 200, 1000)],
    "als": [{"factors": f, "regularization": r} for f in (64, 128) for r in (0.1, 1.0)],
    "ease": [{"l2": v} for v in (100.0, 500.0, 2000.0)],
}


def _metric(r: dict[str, Any]) -> float:
    return float(r["metrics"]["ndcg@100"])


def run(path: Path, n_heldout: int | None) -> list[dict[str, Any]]:
    from tailored.cli.evaluate import _movielens_table
    from tailored.evaluate import strong_generalization_split
    from tailored.evaluate.fold_in import evaluate_fold_in

    table = _movielens_table(path)
    users = len(set(table.users.tolist()))
    n = n_heldout or (10_000 if users > 100_000 else 50)
    split = strong_generalization_split(table, n_heldout=n)
    meta = {"data": path.name, "users": users, "n_heldout": n, "train_rows": len(split.train),
            "test_fold_in_rows": len(split.test_fold_in),
            "test_holdout_rows": len(split.test_holdout)}
    print(json.dumps(meta), file=sys.stderr)
    rows = []
    for name, grid in GRIDS.items():
        started = time.perf_counter()
        tuning = []
        for params in grid if len(grid) > 1 else []:
            r = evaluate_fold_in(name, split.train, split.validation_fold_in,
                                 split.validation_holdout, params=params)
            tuning.append({"params": params, "val_ndcg@100": round(_metric(r), 4)})
        best = max(tuning, key=lambda t: t["val_ndcg@100"])["params"] if tuning else grid[0]
        final = evaluate_fold_in(name, split.train, split.test_fold_in, split.test_holdout,
                                 params=best)
        rows.append({"model": name, "tuned": best, "tuning": tuning, "final": final,
                     "dataset": meta, "wall_seconds": round(time.perf_counter() - started, 1)})
        m = final["metrics"]
        print(f"{path.name:16} {name:10} R@20 {m['recall@20']:.3f} R@50 {m['recall@50']:.3f} "
              f"NDCG@100 {m['ndcg@100']:.3f}", file=sys.stderr)
    return rows


def report(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    run_id = rows[-1]["run"]
    rows = [r for r in rows if r["run"] == run_id]
    out = [f"Run {run_id}.", "", "| data (held-out users) | model | tuned | Recall@20 | "
           "Recall@50 | NDCG@100 | train s |", "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        m, d = r["final"]["metrics"], r["dataset"]
        tuned = ", ".join(f"{k}={v}" for k, v in r["tuned"].items()) or "—"
        out.append(f"| {d['data']} ({d['n_heldout']}) | {r['model']} | {tuned} | "
                   f"{m['recall@20']:.3f} | {m['recall@50']:.3f} | {m['ndcg@100']:.3f} | "
                   f"{r['final']['train_seconds']:.1f} |")
    for name, (r20, r50, n100) in PUBLISHED_ML20M.items():
        out.append(f"| *published, ML-20M (10,000)* | {name} | — | {r20:.3f} | {r50:.3f} | "
                   f"{n100:.3f} | — |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--movielens", type=Path, action="append")
    ap.add_argument("--n-heldout", type=int, default=None)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    if args.report:
        print(report(args.out))
        return
    sys.path.insert(0, str(ROOT / "src"))
    run_id = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = []
    for path in args.movielens or DEFAULT_DATA:
        if not path.exists():
            print(f"skipped: no MovieLens data at {path}", file=sys.stderr)
            continue
        rows += run(path, args.n_heldout)
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        for r in rows:
            r.update({"run": run_id, "python": platform.python_version(),
                      "peak_rss_mb": peak})
            f.write(json.dumps(r) + "\n")
    if rows:
        print(report(args.out))


if __name__ == "__main__":
    main()
