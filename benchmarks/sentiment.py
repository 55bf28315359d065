"""Chinese review sentiment: our model beside SnowNLP's built-in one, in the same run.

1. online_shopping_10_cats (ChineseNlpCorpus): a stratified 20 % held out (seed 0), our
   :class:`~tailored.analytics.ChineseSentiment` trained on the other 80 %; both models judged
   on the same held-out reviews — accuracy, precision, recall, F1 (positive class), train and
   predict seconds. SnowNLP is not trained here: its shipped model (trained by its author on
   shopping reviews) is what a user of it gets; a text is positive when
   ``SnowNLP(text).sentiments >= 0.5``.
2. Out of domain: the same trained model (ours) on waimai_10k (food delivery) and
   ChnSentiCorp_htl_all (hotels), every review; SnowNLP too with ``--peer-out-of-domain``
   (slow: SnowNLP takes ~25 ms a text here).

    python benchmarks/sentiment.py [--data FOLDER] [--sample N] [--peer-out-of-domain]
        [--no-peer] [--json] [--out FILE]

SnowNLP is a peer, not a dependency: ``pip install -r benchmarks/requirements-peers.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", ROOT.parent / "shared" / "datasets"))
OUT = HERE / "results" / "sentiment.jsonl"
SEED = 0
TEST_SIZE = 0.2


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+dirty-src" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for p in ("scikit-learn", "jieba", "snownlp", "tailored"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "absent"
    return out


def snownlp_predict(texts: list[str]) -> tuple[np.ndarray, float, float]:
    """SnowNLP's labels for ``texts``, the seconds to load it and to predict."""
    t0 = time.perf_counter()
    from snownlp import SnowNLP  # loads its shipped model on import

    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = np.array([SnowNLP(t).sentiments for t in texts])
    return (p >= 0.5).astype(np.int64), load, time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tailored.analytics import ChineseSentiment, read_labelled_reviews
    from tailored.analytics.sentiment_training import sentiment_metrics

    folder = args.data
    shopping = read_labelled_reviews(folder / "online_shopping_10_cats.csv.gz",
                                     sample=args.sample, seed=SEED)
    x_train, x_test, y_train, y_test = shopping.split(test_size=TEST_SIZE, seed=SEED)
    log(f"online_shopping_10_cats: {len(x_train):,} train, {len(x_test):,} held out")
    t0 = time.perf_counter()
    model = ChineseSentiment().fit(x_train, y_train)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = model.predict(x_test)
    predict_s = time.perf_counter() - t0
    held_out: dict[str, Any] = {"ours": {
        **sentiment_metrics(y_test, ours), "train_seconds": round(train_s, 2),
        "predict_seconds": round(predict_s, 2),
        "features": int(model.n_features_), "params": model.get_params()}}
    log(f"ours: accuracy {held_out['ours']['accuracy']:.4f} ({train_s:.0f}s train)")
    if not args.no_peer:
        peer, load_s, peer_s = snownlp_predict(x_test)
        held_out["snownlp"] = {**sentiment_metrics(y_test, peer), "train_seconds": None,
                               "load_seconds": round(load_s, 2),
                               "predict_seconds": round(peer_s, 2)}
        log(f"snownlp: accuracy {held_out['snownlp']['accuracy']:.4f}")
    out_of_domain: dict[str, Any] = {}
    for name in ("waimai_10k", "ChnSentiCorp_htl_all"):
        data = read_labelled_reviews(folder / f"{name}.csv.gz")
        t0 = time.perf_counter()
        predicted = model.predict(data.texts)
        entry: dict[str, Any] = {
            "reviews": len(data.texts), "positive_share": round(float(data.labels.mean()), 4),
            "ours": {**sentiment_metrics(data.labels, predicted),
                     "predict_seconds": round(time.perf_counter() - t0, 2)}}
        if args.peer_out_of_domain and not args.no_peer:
            peer, _, peer_s = snownlp_predict(data.texts)
            entry["snownlp"] = {**sentiment_metrics(data.labels, peer),
                                "predict_seconds": round(peer_s, 2)}
        out_of_domain[name] = entry
        log(f"{name}: ours accuracy {entry['ours']['accuracy']:.4f}")
    return {"data": "online_shopping_10_cats", "rows": len(shopping.texts),
            "train": len(x_train), "test": len(x_test), "test_size": TEST_SIZE, "seed": SEED,
            "sample": args.sample, "held_out": held_out, "out_of_domain": out_of_domain}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def table(result: dict[str, Any]) -> str:
    rows = ["| data | model | accuracy | precision | recall | F1 | train s | predict s |",
            "|---|---|---|---|---|---|---|---|"]

    def add(data: str, model: str, m: dict[str, Any]) -> None:
        train = "—" if m.get("train_seconds") is None else f"{m['train_seconds']:.1f}"
        rows.append(f"| {data} | {model} | {m['accuracy']:.4f} | {m['precision']:.4f} | "
                    f"{m['recall']:.4f} | {m['f1']:.4f} | {train} | "
                    f"{m['predict_seconds']:.1f} |")

    held = f"online_shopping_10_cats, held-out {result['test']:,}"
    for model, m in result["held_out"].items():
        add(held, model, m)
    for name, entry in result["out_of_domain"].items():
        for model in ("ours", "snownlp"):
            if model in entry:
                add(f"{name} (all {entry['reviews']:,}, out of domain)", model,
                    {"train_seconds": None, **entry[model]})
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATASETS / "chinese-reviews",
                    help="folder with online_shopping_10_cats.csv.gz, waimai_10k.csv.gz and "
                    "ChnSentiCorp_htl_all.csv.gz")
    ap.add_argument("--sample", type=int, default=None,
                    help="a stratified sample of online_shopping_10_cats (quick runs)")
    ap.add_argument("--no-peer", action="store_true", help="leave SnowNLP out")
    ap.add_argument("--peer-out-of-domain", action="store_true",
                    help="run SnowNLP on the out-of-domain sets too (slow)")
    ap.add_argument("--json", action="store_true", help="print the record as JSON only")
    ap.add_argument("--out", default=str(OUT), help="JSON-lines file to append to ('' none)")
    args = ap.parse_args(argv)
    if not (args.data / "online_shopping_10_cats.csv.gz").exists():
        sys.exit(f"data set not found: {args.data} (give --data FOLDER or set "
                 "TAILORED_DATASETS)")
    started = datetime.now(UTC)
    before = {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}
    result = run(args)
    record = {
        "benchmark": "sentiment", "date": started.isoformat(timespec="seconds"),
        "command": "python benchmarks/sentiment.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "git": git_revision(), "versions": versions(),
        "machine": {**before, "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        **result,
    }
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        print(table(result))


if __name__ == "__main__":
    main()
