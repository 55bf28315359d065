"""Social recommendations on Last.fm: the social and hybrid models beside the best non-social
one, for everyone, for people with many friends and for people with few plays of their own.

Data: HetRec 2011 Last.fm 2K (``--lastfm PATH``, default the shared copy): 1,892 people, their
top artists with play counts, and their friendships. Split: per person, a random 20 % of
their artists go to test (seed 0); the friendships are side data, whole (a friendship says
nothing of who listens to what, so no test pair leaks through it). The weight of a
(person, artist) pair is ``log1p(plays)``.

Tuning: every non-social candidate (popular, item-knn, user-knn, als, bpr) is tuned on a
validation split carved from training with the same protocol, by NDCG@10, over a small
fixed grid; the best becomes "best non-social". ``social`` runs with its defaults (these
data have friendships only, so its friend/follow weights do not matter, and no timestamps to
fade by); ``hybrid`` blends the best non-social model (with its tuned settings) and social,
weights learned on its own validation split of training.
EASE is left out: 17,632 artists make a 17,632² dense matrix (2.5 GB) per fit.

Scored on the test split at k=10 with our metric code, per group:

* ``everyone``: every person with a test artist;
* ``many friends``: people with at least ``--many-friends`` (default 20) friends;
* ``few plays``: people with no more than ``--few-items`` (default 10) artists in training
  — the people a social signal should help most (few on Last.fm, whose data keeps each
  person's top 50 artists);
* ``cold (3 artists)``: a second scenario, because that group is small: ``--cold`` people
  (default 300, seed 0, each with at least 5 test artists) keep only 3 random artists of
  their training history; every model (tuned settings from the first scenario) is refit on
  that training set and scored on those people's same test artists.

    .venv/bin/python benchmarks/social.py [--lastfm PATH]
    .venv/bin/python benchmarks/social.py --report
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = Path("/work/shared/datasets/hetrec2011-lastfm-2k")
OUT = ROOT / "benchmarks" / "results" / "social.jsonl"
K = 10
SEED = 0


def _grid(**axes: list[Any]) -> list[dict[str, Any]]:
    names = list(axes)
    return [dict(zip(names, v, strict=True)) for v in itertools.product(*axes.values())]


GRIDS: dict[str, list[dict[str, Any]]] = {
    "popular": [{}],
    "item-knn": _grid(neighbors=[50, 200], shrinkage=[0.0, 10.0]),
    "user-knn": _grid(neighbors=[50, 200], shrinkage=[0.0, 10.0]),
    "als": _grid(factors=[32, 64], regularization=[0.01, 0.1]),
    "bpr": _grid(factors=[32, 64], learning_rate=[0.01, 0.05]),
}
SOCIAL_GRID: list[dict[str, Any]] = [{}]  # only friendships here, and no timestamps to fade by


def _lines(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        return [line.rstrip("\r\n").split("\t") for line in f if line.strip()]


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            return candidate
    sys.exit(f"{folder} has no {name}(.gz): not a HetRec 2011 Last.fm folder")


def load(folder: Path) -> tuple[Any, list[tuple[str, str, str, float]]]:
    """The listening table (weights log1p(plays)) and the friendships as ties."""
    import numpy as np

    from tailored.evaluate import InteractionTable

    plays = _lines(_find(folder, "user_artists.dat"))
    if plays and not plays[0][0].isdigit():
        plays = plays[1:]  # header
    users = np.array([r[0] for r in plays])
    items = np.array([r[1] for r in plays])
    weights = np.log1p(np.array([float(r[2]) for r in plays]))
    friends = [r for r in _lines(_find(folder, "user_friends.dat")) if r[0].isdigit()]
    ties = [(a, b, "friend", 1.0) for a, b in friends]
    return InteractionTable(users, items, None, weights), ties


def _lists(model: Any, users: list[str]) -> dict[str, list[str]]:
    return {u: [r.item_id for r in model.recommend(u, K)] for u in users}


def _score(name: str, params: dict[str, Any], train: Any, test: Any, side: Any,
           groups: dict[str, set[str]]) -> dict[str, Any]:
    from tailored.evaluate import evaluate_ranking
    from tailored.evaluate.runner import fit_on, item_universe

    model, seconds = fit_on(name, train, params, item_ids=item_universe(train, test),
                            side=side)
    relevant: dict[str, set[str]] = {}
    for u, i in zip(test.users.astype(str).tolist(), test.items.astype(str).tolist(),
                    strict=True):
        relevant.setdefault(u, set()).add(i)
    lists = _lists(model, list(relevant))
    counts = dict(zip(model.interactions_.item_ids.tolist(), model.popularity_.tolist(),
                      strict=True))
    out: dict[str, Any] = {"train_seconds": round(seconds, 2), "groups": {}}
    for group, members in {"everyone": set(relevant), **groups}.items():
        rel = {u: r for u, r in relevant.items() if u in members}
        if rel:
            m = evaluate_ranking({u: lists[u] for u in rel}, rel, K,
                                 catalog_size=len(model.interactions_.item_ids),
                                 train_counts=counts)
            out["groups"][group] = {"people": len(rel), **{k: round(v, 4) for k, v in m.items()}}
    if name == "hybrid":
        out["weights"] = [round(float(w), 3) for w in model.weights_]
    return out


def _tune(name: str, grid: list[dict[str, Any]], inner: Any, side: Any) -> dict[str, Any]:
    best: tuple[float, dict[str, Any]] = (-1.0, grid[0])
    for params in grid:
        if len(grid) == 1:
            break
        ndcg = _score(name, params, inner.train, inner.test, side, {})["groups"]["everyone"][
            f"ndcg@{K}"]
        if ndcg > best[0]:
            best = (ndcg, params)
    return {"params": best[1], "val_ndcg@10": best[0] if best[0] >= 0 else None}


def _cold(split: Any, side: Any, tuned: dict[str, dict[str, Any]], best: str,
          hybrid: dict[str, Any], n_people: int) -> list[dict[str, Any]]:
    """The same models refit after ``n_people`` lose all but 3 artists of their history."""
    import numpy as np

    from tailored.evaluate import InteractionTable

    rng = np.random.default_rng(SEED)
    test_users = split.test.users.astype(str)
    names, counts = np.unique(test_users, return_counts=True)
    chosen = set(rng.choice(names[counts >= 5], size=min(n_people, int((counts >= 5).sum())),
                            replace=False).tolist())
    train_users = split.train.users.astype(str)
    keep = np.ones(len(train_users), dtype=bool)
    for u in chosen:
        rows = np.flatnonzero(train_users == u)
        keep[rng.permutation(rows)[3:]] = False
    t = split.train
    train = InteractionTable(t.users[keep], t.items[keep], None,
                             None if t.ratings is None else t.ratings[keep])
    in_test = np.isin(test_users, list(chosen))
    test = InteractionTable(split.test.users[in_test], split.test.items[in_test], None,
                            None if split.test.ratings is None
                            else split.test.ratings[in_test])
    out = []
    for name, params in [("popular", {}), (best, tuned[best]["params"]),
                         ("social", tuned["social"]["params"]), ("hybrid", hybrid)]:
        started = time.perf_counter()
        result = _score(name, params, train, test, side, {})
        result["groups"] = {"cold (3 artists)": result["groups"]["everyone"]}
        out.append({"model": name, "scenario": "cold", "tuned": {"params": params},
                    "final": result, "wall_seconds": round(time.perf_counter() - started, 1)})
        print(f"cold {name:10} {result['groups']['cold (3 artists)'][f'ndcg@{K}']:.4f}",
              file=sys.stderr)
    return out


def run(folder: Path, many_friends: int, few_items: int, cold: int) -> list[dict[str, Any]]:
    import numpy as np

    from tailored.evaluate import per_user_random_split, validation_split
    from tailored.recommend import SideData

    table, ties = load(folder)
    split = per_user_random_split(table, test_fraction=0.2, seed=SEED)
    inner = validation_split(split.train, protocol="per_user_random", test_fraction=0.2,
                             seed=SEED)
    side = SideData(ties=tuple(ties))
    friends: dict[str, int] = {}
    for a, _b, _k, _w in ties:
        friends[a] = friends.get(a, 0) + 1
    users, n_items = np.unique(split.train.users.astype(str), return_counts=True)
    groups = {
        f"many friends (≥ {many_friends})": {u for u, n in friends.items() if n >= many_friends},
        f"few plays (≤ {few_items} artists)": {
            str(u) for u, n in zip(users, n_items, strict=True) if n <= few_items},
    }
    meta = {"data": folder.name, "rows": len(table), "people": len(np.unique(table.users)),
            "artists": len(np.unique(table.items)), "ties": len(ties),
            "train_rows": len(split.train), "test_rows": len(split.test),
            "groups": {g: len(m) for g, m in groups.items()}}
    print(json.dumps(meta), file=sys.stderr)
    rows = []
    tuned: dict[str, dict[str, Any]] = {}
    for name, grid in [*GRIDS.items(), ("social", SOCIAL_GRID)]:
        started = time.perf_counter()
        tuned[name] = _tune(name, grid, inner, side)
        result = _score(name, tuned[name]["params"], split.train, split.test, side, groups)
        rows.append({"model": name, "tuned": tuned[name], "final": result,
                     "wall_seconds": round(time.perf_counter() - started, 1)})
        print(f"{name:10} {result['groups']['everyone'][f'ndcg@{K}']:.4f}", file=sys.stderr)
    best = max(GRIDS, key=lambda m: tuned[m]["val_ndcg@10"] or -1.0)
    params = {best: tuned[best]["params"], "social": tuned["social"]["params"]}
    started = time.perf_counter()
    hybrid = {"models": [best, "social"], "params": params, "validation": "random"}
    result = _score("hybrid", hybrid, split.train, split.test, side, groups)
    rows.append({"model": "hybrid", "tuned": {"params": hybrid}, "final": result,
                 "wall_seconds": round(time.perf_counter() - started, 1)})
    print(f"hybrid     {result['groups']['everyone'][f'ndcg@{K}']:.4f}", file=sys.stderr)
    rows += _cold(split, side, tuned, best, hybrid, cold)
    run_id = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for r in rows:
        r.update({"run": run_id, "dataset": meta, "best_non_social": best, "k": K,
                  "seed": SEED, "python": platform.python_version(), "peak_rss_mb": peak})
    return rows


def report(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    run_id = rows[-1]["run"]
    rows = [r for r in rows if r["run"] == run_id]
    cold = [r for r in rows if r.get("scenario") == "cold"]
    rows = [r for r in rows if r.get("scenario") != "cold"]
    best = rows[0]["best_non_social"]
    groups = list(rows[0]["final"]["groups"])
    sizes = {g: rows[0]["final"]["groups"][g]["people"] for g in groups}
    head = ["| model | " + " | ".join(f"{g} ({sizes[g]}) NDCG@10 / Recall@10" for g in groups)
            + " | train s |", "|---|" + "---:|" * (len(groups) + 1)]
    body = []
    for r in sorted(rows, key=lambda r: -r["final"]["groups"]["everyone"][f"ndcg@{K}"]):
        name = r["model"] + (" (best non-social)" if r["model"] == best else "")
        cells = [f"{r['final']['groups'][g][f'ndcg@{K}']:.4f} / "
                 f"{r['final']['groups'][g][f'recall@{K}']:.4f}" for g in groups]
        body.append(f"| {name} | " + " | ".join(cells) + f" | {r['final']['train_seconds']} |")
    if cold:
        people = cold[0]["final"]["groups"]["cold (3 artists)"]["people"]
        body += ["", f"Cold (3 artists kept of their training history, {people} people):", "",
                 "| model | NDCG@10 | Recall@10 | hit rate@10 |", "|---|---:|---:|---:|"]
        for r in sorted(cold, key=lambda r: -r["final"]["groups"]["cold (3 artists)"][
                f"ndcg@{K}"]):
            g = r["final"]["groups"]["cold (3 artists)"]
            body.append(f"| {r['model']} | {g[f'ndcg@{K}']:.4f} | {g[f'recall@{K}']:.4f} | "
                        f"{g[f'hit_rate@{K}']:.4f} |")
    return "\n".join([f"Run {run_id}.", "", *head, *body])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lastfm", type=Path, default=DEFAULT)
    ap.add_argument("--many-friends", type=int, default=20)
    ap.add_argument("--few-items", type=int, default=10)
    ap.add_argument("--cold", type=int, default=300, help="people made cold in scenario 2")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    if args.report:
        print(report(args.out))
        return
    if not args.lastfm.exists():
        sys.exit(f"skipped: no Last.fm data at {args.lastfm} (pass --lastfm PATH)")
    sys.path.insert(0, str(ROOT / "src"))
    rows = run(args.lastfm, args.many_friends, args.few_items, args.cold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(report(args.out))


if __name__ == "__main__":
    main()
