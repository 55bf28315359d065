"""Reason quality on MovieLens 100K: how often a reason cites a film the person disliked.

Each model is fitted on all of ML-100K (ratings as explicit signals, weight = stars, with
their timestamps, as ``tailored import movielens`` stores them); every person gets a list of
10 unseen films, and each reason that cites a film of their history ("because you rated X")
is checked against the stars they gave X. Reported per model:

- ``share_citing_le2``: share of cited reasons naming a film the person rated 2★ or less;
- ``share_citing_below_mean``: share naming a film rated below the person's own mean;
- ``lists_one_item_over_3``: share of lists where one cited film explains more than 3 of the
  10 items; ``mean_max_per_item``: the average, over lists, of the most items one film
  explains.

The cited film is read from the reason's text (the last word: the model has no catalogue,
so a film is named by its id), so the same script measures older revisions too:

    PYTHONPATH=<checkout>/src python benchmarks/reason_quality.py [--ml100k PATH]
        [--models ease,als,auto] [--auto-trials 4] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))


def load(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    path = folder / "u.data.gz"
    opener = gzip.open if path.exists() else open
    path = path if path.exists() else folder / "u.data"
    with opener(path, "rt") as f:  # type: ignore[operator]
        rows = np.loadtxt(f, dtype=np.int64)
    return (rows[:, 0].astype(str), rows[:, 1].astype(str), rows[:, 2].astype(np.float64),
            rows[:, 3].astype(np.float64))


def measure(name: str, users: np.ndarray, items: np.ndarray, stars: np.ndarray,
            times: np.ndarray, auto_trials: int) -> dict[str, object]:
    from tailored.recommend import MODELS, Interactions
    from tailored.recommend.interactions import SIGNALS

    codes = np.full(len(users), SIGNALS.index("rating") + 1, dtype=np.int8)
    data = Interactions.from_arrays(users, items, stars, codes, timestamps=times)
    params = {"n_trials": auto_trials} if name == "auto" else {}
    started = time.perf_counter()
    model = MODELS[name](**params).fit(data)
    fit_seconds = time.perf_counter() - started
    rated: dict[str, dict[str, float]] = {}
    for u, i, s in zip(users.tolist(), items.tolist(), stars.tolist(), strict=True):
        rated.setdefault(u, {})[i] = s
    cited = le2 = below = lists_over = 0
    reasons = 0
    max_counts = []
    started = time.perf_counter()
    for user in data.user_ids.tolist():
        history = rated[user]
        mean = float(np.mean(list(history.values())))
        counts: Counter[str] = Counter()
        for rec in model.recommend(user, 10):
            reasons += 1
            source = rec.reason.rsplit(" ", 1)[-1].strip('"')
            if source not in history:
                continue
            cited += 1
            counts[source] += 1
            le2 += history[source] <= 2
            below += history[source] < mean - 1e-9
        top = max(counts.values(), default=0)
        max_counts.append(top)
        lists_over += top > 3
    people = len(data.user_ids)
    model_name = getattr(model, "chosen_", name)
    return {
        "model": name, "chosen": model_name, "fit_seconds": round(fit_seconds, 1),
        "recommend_seconds": round(time.perf_counter() - started, 1), "people": people,
        "reasons": reasons, "reasons_citing_a_film": cited,
        "share_citing_le2": round(le2 / max(cited, 1), 4),
        "share_citing_below_mean": round(below / max(cited, 1), 4),
        "lists_one_item_over_3": round(lists_over / people, 4),
        "mean_max_per_item": round(float(np.mean(max_counts)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml100k", type=Path, default=DATASETS / "ml-100k")
    parser.add_argument("--models", default="ease,als,auto")
    parser.add_argument("--auto-trials", type=int, default=4)
    parser.add_argument("--label", default="", help="e.g. before / after, kept in the record")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "reason_quality.jsonl")
    opts = parser.parse_args()
    if not opts.ml100k.exists():
        raise SystemExit(f"data set not found: {opts.ml100k}")
    users, items, stars, times = load(opts.ml100k)
    import tailored

    source = Path(tailored.__file__).resolve().parents[2]
    revision = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    record: dict[str, object] = {
        "benchmark": "reason_quality", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": opts.label, "revision": revision, "command": " ".join(sys.argv),
        "data": str(opts.ml100k), "loadavg": os.getloadavg(),
        "models": [measure(m, users, items, stars, times, opts.auto_trials)
                   for m in opts.models.split(",")]}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    with opts.out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    if opts.json:
        print(json.dumps(record, indent=2))
    else:
        for m in record["models"]:  # type: ignore[attr-defined]
            print(f"{m['model']:>5} ({m['chosen']}): {m['share_citing_le2']:.1%} of cited "
                  f"reasons name a ≤2★ film, {m['share_citing_below_mean']:.1%} one below the "
                  f"person's mean; {m['lists_one_item_over_3']:.1%} of lists have one film "
                  f"explain >3 items (mean max {m['mean_max_per_item']})")


if __name__ == "__main__":
    main()
