"""Recommender benchmark: our models beside peer libraries, every one tuned the same way.

For each MovieLens data set (``--movielens PATH``, any layout ``tailored evaluate`` reads;
default: ml-100k and ml-latest-small under /work/shared/datasets) and each of two splits

* ``leave-last-10``: per user, the 10 latest newly met items go to test (users with 10 or
  fewer distinct items stay wholly in training);
* ``random-80-20``: per user, a random 20 % of the distinct items go to test (seed 0);

every model — ours from ``tailored.recommend.MODELS`` (except ``content`` and ``social``,
which need item text / a social graph this script does not pass) and the peers (the
``implicit`` library's ALS, BPR and cosine item-item used directly, and cornac's EASE and
BPR) — is tuned on ONE validation split carved from the training split only, with the same
protocol as the outer split (``validation_split(train, protocol="leave_last_n", n=10)`` or
``protocol="per_user_random", test_fraction=0.2, seed=0``), over a small fixed grid (the
same grid for ours and the peer of the same family), by NDCG@10. EASE on a catalogue of
more than LARGE_CATALOG items runs at l2=500 only, untuned, for ours and cornac alike: each
dense fit takes minutes on two shared cores. The best setting is refit
on the whole training split and scored on the test split at k=10, relevant = every test
item of the user (no rating threshold). Every list — ours and the peers' — is scored by
OUR metric code (``tailored.evaluate.evaluate_ranking``).

Each (data set, split, model) runs in its own subprocess with BLAS/OpenMP limited to one
thread; its peak RSS is that subprocess's own ``ru_maxrss`` read with ``os.wait4`` (so it
covers loading the split, tuning and the final fit). ``train seconds`` is the final refit
only. One JSON line per run goes to ``benchmarks/results/recommenders.jsonl``.

    .venv/bin/python benchmarks/recommenders.py [--movielens PATH ...] [--jobs 2]
    .venv/bin/python benchmarks/recommenders.py --report   # markdown tables of the last run
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = [Path("/work/shared/datasets/ml-100k"),
                Path("/work/shared/datasets/ml-latest-small")]
K = 10
SEED = 0


def _grid(**axes: list[Any]) -> list[dict[str, Any]]:
    names = list(axes)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(axes[n] for n in names))]


# The tuning budget. A peer of the same family gets the same values of the same knobs.
EASE_L2 = [50.0, 200.0, 500.0, 1000.0]
# Ours only (cornac's EASE has no such knob): read when scoring, so these values share a fit.
EASE_RECENCY = [None, 2.0, 5.0, 10.0, 20.0]
EASE_L2_LARGE = [500.0]  # over LARGE_CATALOG items each dense fit takes minutes here: untuned
LARGE_CATALOG = 5000
ALS_GRID = _grid(factors=[32, 64, 128], regularization=[0.01, 0.1])
BPR_GRID = _grid(factors=[32, 64], learning_rate=[0.01, 0.05])
KNN_GRID = _grid(neighbors=[50, 100, 200], shrinkage=[0.0, 10.0])

OURS = ["popular", "item-knn", "user-knn", "cooccurrence", "als", "bpr", "ease"]
PEERS = ["implicit-als", "implicit-bpr", "implicit-cosine", "cornac-ease", "cornac-bpr"]
SKIPPED_OURS = {"content": "needs item text/attributes, not passed by this script",
                "social": "needs a social graph, not passed by this script"}


def grid_for(model: str, n_items: int) -> list[dict[str, Any]]:
    ease = EASE_L2_LARGE if n_items > LARGE_CATALOG else EASE_L2
    return {
        "popular": [{}],
        "item-knn": KNN_GRID,
        "user-knn": KNN_GRID,
        "cooccurrence": _grid(min_support=[1, 2, 5]),
        "als": ALS_GRID,
        "bpr": BPR_GRID,
        "ease": _grid(l2=ease, recency_half_life=EASE_RECENCY),
        "hybrid": [{}],
        "auto": [{}],
        "implicit-als": ALS_GRID,
        "implicit-bpr": BPR_GRID,
        "implicit-cosine": _grid(neighbors=[50, 100, 200]),
        "cornac-ease": [{"l2": v} for v in ease],
        "cornac-bpr": BPR_GRID,
    }[model]


# ----------------------------------------------------------------------------- child side


def _load_split(path: str) -> tuple[Any, Any, dict[str, Any]]:
    import numpy as np

    from tailored.evaluate import InteractionTable

    d = np.load(path)

    def table(side: str) -> Any:
        return InteractionTable(d[f"{side}_users"], d[f"{side}_items"],
                                d[f"{side}_timestamps"], d[f"{side}_ratings"])

    meta = json.loads(str(d["meta"]))
    return table("train"), table("test"), meta


def _peer_eval(model: str, train: Any, test: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Fit a peer on the same user × item matrix our models see; score with our metrics."""
    import numpy as np

    from tailored.evaluate import evaluate_ranking
    from tailored.recommend import Interactions

    test_users = test.users.astype(str)
    test_items = test.items.astype(str)
    relevant: dict[str, set[str]] = {}
    for u, i in zip(test_users.tolist(), test_items.tolist(), strict=True):
        relevant.setdefault(u, set()).add(i)
    all_items = np.unique(np.concatenate([train.items.astype(str), test_items]))
    data = Interactions.from_arrays(train.users.astype(str), train.items.astype(str),
                                    train.ratings, item_ids=all_items)
    x = data.matrix.tocsr().astype(np.float32)
    users = [u for u in relevant if u in data.user_index]
    rows = np.array([data.user_index[u] for u in users], dtype=np.int64)
    recommended: dict[str, list[str]] = {u: [] for u in relevant}  # unknown: empty = 0
    if model.startswith("implicit-"):
        import implicit.als
        import implicit.bpr
        import implicit.nearest_neighbours

        if model == "implicit-als":
            m = implicit.als.AlternatingLeastSquares(
                factors=params["factors"], regularization=params["regularization"],
                alpha=1.0, iterations=15, random_state=SEED, num_threads=1, use_gpu=False)
        elif model == "implicit-bpr":
            m = implicit.bpr.BayesianPersonalizedRanking(
                factors=params["factors"], learning_rate=params["learning_rate"],
                regularization=0.01, iterations=100, random_state=SEED, num_threads=1,
                use_gpu=False)
        else:
            m = implicit.nearest_neighbours.CosineRecommender(K=params["neighbors"],
                                                              num_threads=1)
        started = time.perf_counter()
        m.fit(x, show_progress=False)
        seconds = time.perf_counter() - started
        ids, _ = m.recommend(rows, x[rows], N=K, filter_already_liked_items=True)
        for u, row in zip(users, ids, strict=True):
            recommended[u] = [str(data.item_ids[j]) for j in row if j >= 0]
    else:  # cornac, on the distinct training pairs as 1.0 (implicit feedback)
        import cornac

        coo = x.tocoo()
        uids, iids = data.user_ids.astype(str), data.item_ids.astype(str)
        triples = [(uids[r], iids[c], 1.0) for r, c in zip(coo.row, coo.col, strict=True)]
        ds = cornac.data.Dataset.from_uir(triples, seed=SEED)
        if model == "cornac-ease":
            m = cornac.models.EASE(lamb=params["l2"], posB=False, verbose=False, seed=SEED)
        else:
            m = cornac.models.BPR(k=params["factors"], learning_rate=params["learning_rate"],
                                  lambda_reg=0.01, max_iter=100, num_threads=1, seed=SEED,
                                  verbose=False)
        started = time.perf_counter()
        m.fit(ds)
        seconds = time.perf_counter() - started
        seen = ds.csr_matrix
        item_names = np.array(list(ds.item_ids))
        for u in users:
            ui = ds.uid_map.get(u)
            if ui is None:
                continue
            s = np.asarray(m.score(ui), dtype=np.float64).ravel().copy()
            s[seen[ui].indices] = -np.inf
            top = np.argpartition(-s, K)[:K] if len(s) > K else np.arange(len(s))
            top = top[np.argsort(-s[top], kind="stable")]
            recommended[u] = [str(item_names[j]) for j in top if np.isfinite(s[j])]
    counts = dict(zip(data.item_ids.astype(str).tolist(),
                      np.diff((x > 0).tocsc().indptr).tolist(), strict=True))
    metrics = evaluate_ranking(recommended, relevant, K, catalog_size=len(all_items),
                               train_counts=counts)
    return {"metrics": metrics, "train_seconds": round(seconds, 3),
            "users_evaluated": len(relevant), "params": params}


_FITS: dict[str, Any] = {}  # one fitted model, by the parameters its fit depends on


def _score(model: str, train: Any, test: Any, params: dict[str, Any]) -> dict[str, Any]:
    if model in PEERS:
        return _peer_eval(model, train, test, params)
    from tailored.evaluate.runner import evaluate_model, fit_on, item_universe
    from tailored.recommend import MODELS

    # Values of a parameter read only when scoring (EASE's recency_half_life) share a fit.
    scoring = MODELS[model].scoring_params
    fit_params = {k: v for k, v in params.items() if k not in scoring}
    key = json.dumps([id(train), model, fit_params], sort_keys=True, default=str)
    if key not in _FITS:
        _FITS.clear()
        _FITS[key] = fit_on(model, train, fit_params, item_ids=item_universe(train, test))
    fitted, seconds = _FITS[key]
    for p in scoring:
        setattr(fitted, p, params.get(p, MODELS[model]().get_params()[p]))
    out = evaluate_model(model, train, test, K, params=params, fitted=(fitted, seconds))
    out["params"] = {**out["params"], **params}
    if hasattr(fitted, "chosen_"):  # auto: what it picked, and its own search
        out["chosen"] = {"model": fitted.chosen_, "params": fitted.best_params_,
                         "validation_ndcg": fitted.validation_ndcg_,
                         "trials": len(fitted.trials_)}
    if hasattr(fitted, "weights_") and model == "hybrid":
        out["weights"] = [round(float(w), 4) for w in fitted.weights_]
    return out


def protocol_params(model: str, split: str) -> dict[str, Any]:
    """What auto and hybrid are told of the protocol (not which model to pick): carve their
    own validation split from training the way the outer split was cut."""
    if model not in ("auto", "hybrid"):
        return {}
    if split == "leave-last-10":
        extra = {"validation_items": 10} if model == "auto" else {}
        return {"validation": "latest", **extra}
    return {"validation": "random", "validation_fraction": 0.2}


def child(split_path: str, model: str) -> None:
    import numpy as np

    from tailored.evaluate import validation_split

    train, test, meta = _load_split(split_path)
    if meta["split"] == "leave-last-10":
        inner = validation_split(train, protocol="leave_last_n", n=10)
    else:
        inner = validation_split(train, protocol="per_user_random", test_fraction=0.2,
                                 seed=SEED)
    grid = [{**p, **protocol_params(model, meta["split"])}
            for p in grid_for(model, meta["n_items"])]
    tuning = []
    for params in grid:
        if len(grid) == 1:
            break
        r = _score(model, inner.train, inner.test, params)
        tuning.append({"params": params, "val_ndcg@10": r["metrics"][f"ndcg@{K}"]})
    best = max(tuning, key=lambda t: t["val_ndcg@10"])["params"] if tuning else grid[0]
    final = _score(model, train, test, best)
    print(json.dumps({"tuned": best, "tuning": tuning, "final": final},
                     default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))


# ---------------------------------------------------------------------------- parent side


def _prepare(path: Path, tmp: Path) -> list[tuple[str, str, dict[str, Any]]]:
    import numpy as np

    sys.path.insert(0, str(ROOT / "src"))
    from tailored.cli.evaluate import _movielens_table
    from tailored.evaluate import leave_last_n_split, per_user_random_split

    table = _movielens_table(path)
    out = []
    for split, cut in (("leave-last-10", lambda: leave_last_n_split(table, n=10)),
                       ("random-80-20", lambda: per_user_random_split(
                           table, test_fraction=0.2, seed=SEED))):
        s = cut()
        meta = {"data": path.name, "split": split, "rows": len(table),
                "n_users": len(np.unique(table.users)),
                "n_items": len(np.unique(table.items)),
                "train_rows": len(s.train), "test_rows": len(s.test)}
        f = tmp / f"{path.name}-{split}.npz"
        arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta))}
        for side, t in (("train", s.train), ("test", s.test)):
            arrays[f"{side}_users"] = t.users
            arrays[f"{side}_items"] = t.items
            arrays[f"{side}_timestamps"] = t.timestamps
            arrays[f"{side}_ratings"] = t.ratings
        np.savez(f, **arrays)
        out.append((str(f), split, meta))
    return out


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    v = {"python": platform.python_version()}
    for p in ("numpy", "scipy", "implicit", "cornac", "tailored"):
        try:
            v[p] = version(p)
        except PackageNotFoundError:
            v[p] = "absent"
    return v


# ------------------------------------------------------------------------------- report


def _fmt_params(p: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in p.items()) or "—"


def _fmt_chosen(chosen: dict[str, Any]) -> str:
    if not chosen:
        return "?"
    params = chosen.get("params", {})
    if chosen.get("model") == "hybrid":
        parts = [f"{m} {w:.1f}" for m, w in zip(params.get("models", []),
                                                 params.get("weights", []), strict=False)]
        return "hybrid (" + ", ".join(parts) + ")"
    return f"{chosen.get('model')} ({_fmt_params(params)})"


def report(path: Path) -> str:
    """Markdown tables of the latest run in ``path``: a verdict per split, then every model."""
    from collections import defaultdict

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    run = rows[-1]["run"]
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["run"] == run:
            by[(r["data"], r["split"])].append(r)
    ndcg = f"ndcg@{K}"
    summary = [f"Run {run}.", "",
               "| data | split | best of ours | NDCG@10 | best peer | NDCG@10 | target "
               "| auto chose | auto NDCG@10 |",
               "|---|---|---|---:|---|---:|---|---|---:|"]
    detail: list[str] = []
    for (data, split), rs in sorted(by.items()):
        d = rs[0]["dataset"]
        ok = sorted((r for r in rs if "final" in r),
                    key=lambda r: -r["final"]["metrics"][ndcg])
        detail += [f"### {data}, {split}", "",
                   f"{d['rows']:,} ratings, {d['n_users']:,} people, {d['n_items']:,} "
                   f"items; train {d['train_rows']:,} rows, test {d['test_rows']:,} rows.", "",
                   "| model | lib | tuned params | NDCG@10 | Recall@10 | Precision@10 | MAP@10 "
                   "| coverage@10 | train s | peak RSS MB |",
                   "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in ok:
            m = r["final"]["metrics"]
            detail.append(
                f"| {r['model']} | {r['family']} | {_fmt_params(r['tuned'])} | {m[ndcg]:.4f} | "
                f"{m[f'recall@{K}']:.4f} | {m[f'precision@{K}']:.4f} | {m[f'map@{K}']:.4f} | "
                f"{m[f'coverage@{K}']:.3f} | {r['final']['train_seconds']:.2f} | "
                f"{r['peak_rss_mb']:.0f} |")
        for r in rs:
            if "final" not in r:
                detail.append(f"| {r['model']} | {r['family']} | skipped: "
                              f"{r['skipped'][:120]} | | | | | | | |")
        ours = [r for r in ok if r["family"] == "ours"]
        peers = [r for r in ok if r["family"] == "peer"]
        if not ours or not peers:
            continue
        bo, bp = ours[0], peers[0]
        a, b = bo["final"]["metrics"][ndcg], bp["final"]["metrics"][ndcg]
        verdict = "met" if a > b else ("**missed** (tie)" if a == b else "**missed**")
        auto = next((r for r in ok if r["model"] == "auto"), None)
        chose = (_fmt_chosen(auto["final"].get("chosen", {})) if auto else "—")
        auto_ndcg = f"{auto['final']['metrics'][ndcg]:.4f}" if auto else "—"
        summary.append(f"| {data} | {split} | {bo['model']} | {a:.4f} | {bp['model']} | "
                       f"{b:.4f} | {verdict} | {chose} | {auto_ndcg} |")
        detail += ["", f"Best of ours: **{bo['model']}** {a:.4f}; best peer: "
                   f"**{bp['model']}** {b:.4f}; difference {a - b:+.4f}.", ""]
    return "\n".join([*summary, "", *detail])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--movielens", type=Path, action="append",
                    help="a MovieLens folder (repeatable); default ml-100k and latest-small")
    ap.add_argument("--models", help="comma-separated subset of models to run")
    ap.add_argument("--jobs", type=int, default=2, help="subprocesses at once (1 thread each)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per model run")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/recommenders.jsonl")
    ap.add_argument("--report", action="store_true",
                    help="print the markdown tables of the latest run in --out and stop")
    ap.add_argument("--child", nargs=2, metavar=("SPLIT_FILE", "MODEL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.report:
        print(report(args.out))
        return

    sys.path.insert(0, str(ROOT / "src"))
    from tailored.recommend import MODELS

    ours = [m for m in MODELS if m not in SKIPPED_OURS]
    models = ours + PEERS
    if args.models:
        wanted = args.models.split(",")
        models = [m for m in models if m in wanted]
    env = {**os.environ, **{v: "1" for v in THREAD_VARS}}
    run_id = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    versions = _versions()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tailored-bench-") as tmpdir:
        tasks = []
        for path in args.movielens or DEFAULT_DATA:
            for split_file, _split, meta in _prepare(path, Path(tmpdir)):
                print(f"{meta}", file=sys.stderr)
                tasks += [(split_file, meta, m) for m in models]
        # Slowest first, so the long EASE fits overlap the rest.
        tasks.sort(key=lambda t: (t[2] not in ("ease", "cornac-ease"), -t[1]["n_items"]))
        running: list[tuple[Any, Any, Any, float, Any]] = []
        with args.out.open("a") as sink:
            while tasks or running:
                while tasks and len(running) < args.jobs:
                    split_file, meta, m = tasks.pop(0)
                    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed when reaped)
                    p = subprocess.Popen(
                        [sys.executable, __file__, "--child", split_file, m], env=env,
                        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
                    running.append((p, log, meta, time.perf_counter(), m))
                time.sleep(0.1)
                for entry in list(running):
                    p, log, meta, started, m = entry
                    pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                    wall = time.perf_counter() - started
                    if pid == 0 and wall < args.timeout:
                        continue
                    if pid == 0:
                        p.kill()
                        pid, status, usage = os.wait4(p.pid, 0)
                        record: dict[str, Any] = {"skipped": f"over {args.timeout:.0f} s"}
                    else:
                        log.seek(0)
                        lines = log.read().strip().splitlines()
                        try:
                            record = json.loads(lines[-1])
                        except (IndexError, json.JSONDecodeError):
                            record = {"skipped": "failed: " + " | ".join(lines[-5:])}
                    p.returncode = os.waitstatus_to_exitcode(status)
                    log.close()
                    running.remove(entry)
                    record = {"run": run_id, "data": meta["data"], "split": meta["split"],
                              "model": m, "family": "ours" if m in MODELS else "peer",
                              "k": K, "seed": SEED, "wall_seconds": round(wall, 1),
                              "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                              "dataset": meta, "versions": versions, **record}
                    sink.write(json.dumps(record) + "\n")
                    sink.flush()
                    f = record.get("final", {}).get("metrics", {})
                    print(f"{meta['data']:18} {meta['split']:14} {m:16} "
                          f"ndcg={f.get('ndcg@10', float('nan')):.4f} "
                          f"wall={wall:.0f}s {record.get('skipped', '')}", file=sys.stderr)


if __name__ == "__main__":
    main()
