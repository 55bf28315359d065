"""Latency of recommendations: in process, after a new event, and over HTTP.

1. ``recommend()`` in process with filters and reasons on the latest-small model: p50 and
   p99 over 10,000 calls for random people (target p99 < 10 ms).
2. Time from a new event to that person's changed list, in process (``update`` then
   ``recommend``) and end to end over HTTP (POST /v1/track, then GET until the list changes;
   target < 50 ms).
3. ``GET /v1/recommendations/{user}`` p99 with this script as the load generator in a
   second process beside ``tailored serve`` (target < 30 ms).
4. ``--cli``: the whole ``tailored recommend PERSON --json`` command on MovieLens 100K with a
   trained EASE model (start-up, model load, list), median of ``--cli-runs`` runs, beside
   ``tailored stats --json`` and a bare ``python -c pass`` in the same run (target < 1 s).

    python benchmarks/recommend_latency.py [--movielens PATH] [--model item-knn] [--json]
    python benchmarks/recommend_latency.py --cli [--ml100k PATH] [--cli-runs 10]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))
TAILORED = Path(sys.executable).with_name("tailored")


def pct(values: list[float]) -> dict[str, float]:
    a = np.array(values) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3),
            "max_ms": round(float(a.max()), 3)}


def in_process(folder: Path, model_name: str, calls: int) -> dict[str, object]:
    from tailored.cli.evaluate import _movielens_table
    from tailored.recommend import MODELS, Filters, Interactions

    table = _movielens_table(folder)
    data = Interactions.from_arrays(table.users.astype(str), table.items.astype(str),
                                    table.ratings)
    started = time.perf_counter()
    model = MODELS[model_name]().fit(data)
    fit_seconds = time.perf_counter() - started
    users = data.user_ids.tolist()
    rng = random.Random(0)
    filters = Filters(exclude=("1", "2", "3"))  # a business rule on every call
    for u in users[:50]:  # warm-up
        model.recommend(u, 10, filters)
    times = []
    for _ in range(calls):
        u = rng.choice(users)
        t = time.perf_counter()
        recs = model.recommend(u, 10, filters)
        times.append(time.perf_counter() - t)
        assert len(recs) == 10 and all(r.reason for r in recs)
    fresh = []
    items = data.item_ids.tolist()
    for n in range(200):
        u = f"fresh-{n}"
        before = [r.item_id for r in model.recommend(u, 10)]
        t = time.perf_counter()
        model.update(u, [rng.choice(items) for _ in range(3)])
        after = [r.item_id for r in model.recommend(u, 10)]
        fresh.append(time.perf_counter() - t)
        assert after != before
    return {"fit_seconds": round(fit_seconds, 2), "recommend": pct(times),
            "event_to_new_list": pct(fresh), "calls": calls}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def over_http(folder: Path, model_name: str, calls: int, work: Path) -> dict[str, object]:
    db = f"sqlite:///{work / 'bench.db'}"
    env = {**os.environ, "TAILORED_MODELS_DIR": str(work / "models")}

    def cli(*args: str) -> str:
        return subprocess.run([str(TAILORED), "--db", db, *args], check=True, env=env,
                              capture_output=True, text=True).stdout

    cli("import", "movielens", str(folder))
    cli("train", "--model", model_name)
    key = json.loads(cli("keys", "create", "--scope", "admin", "--json"))["key"]
    port = free_port()
    server = subprocess.Popen([str(TAILORED), "--db", db, "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        with httpx.Client(base_url=base, headers=auth, timeout=10) as http:
            for _ in range(100):
                try:
                    http.get("/docs")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            users = [str(u) for u in range(1, 611)]
            rng = random.Random(1)
            pool: list[str] = []  # items the model knows, for the new events below
            for u in users[:50]:
                r = http.get(f"/v1/recommendations/{u}", params={"k": 10})
                r.raise_for_status()
                pool += [i["item_id"] for i in r.json()["items"]]
            times = []
            for _ in range(calls):
                t = time.perf_counter()
                http.get(f"/v1/recommendations/{rng.choice(users)}",
                         params={"k": 10}).raise_for_status()
                times.append(time.perf_counter() - t)
            fresh = []
            for n in range(100):
                user = f"http-fresh-{n}"
                before = http.get(f"/v1/recommendations/{user}", params={"k": 10}).json()
                t = time.perf_counter()
                http.post("/v1/track", json={
                    "userId": user, "event": "Product Rated", "messageId": f"hf-{n}",
                    "properties": {"product_id": rng.choice(pool), "rating": 5}}
                ).raise_for_status()
                after = http.get(f"/v1/recommendations/{user}", params={"k": 10}).json()
                fresh.append(time.perf_counter() - t)
                assert after["items"] != before["items"]
        return {"get_recommendations": pct(times), "event_to_new_list": pct(fresh),
                "calls": calls}
    finally:
        server.terminate()
        server.wait(10)


def cli_latency(folder: Path, runs: int, work: Path) -> dict[str, object]:
    db = f"sqlite:///{work / 'ml100k.db'}"

    def cli(*args: str) -> None:
        subprocess.run([str(TAILORED), "--db", db, *args], check=True, cwd=work,
                       capture_output=True)

    cli("import", "movielens", str(folder))
    cli("train", "--model", "ease")

    def median_seconds(command: list[str]) -> dict[str, float]:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(command, check=True, cwd=work, capture_output=True)
            times.append(time.perf_counter() - t)
        return {"median_s": round(float(np.median(times)), 3),
                "min_s": round(min(times), 3), "max_s": round(max(times), 3)}

    return {"runs": runs,
            "recommend": median_seconds([str(TAILORED), "--db", db, "recommend", "1",
                                         "--model", "ease", "--json"]),
            "stats": median_seconds([str(TAILORED), "--db", db, "stats", "--json"]),
            "python_bare": median_seconds([sys.executable, "-c", "pass"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, default=DATASETS / "ml-latest-small")
    parser.add_argument("--model", default="item-knn")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--http-calls", type=int, default=2_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "recommend_latency.jsonl")
    parser.add_argument("--cli", action="store_true", help="Only the CLI command's latency.")
    parser.add_argument("--ml100k", type=Path, default=DATASETS / "ml-100k")
    parser.add_argument("--cli-runs", type=int, default=10)
    opts = parser.parse_args()
    if opts.cli:
        with tempfile.TemporaryDirectory() as tmp:
            record = {"benchmark": "recommend_cli_latency",
                      "date": datetime.now(UTC).isoformat(timespec="seconds"),
                      "data": str(opts.ml100k), "loadavg_before": os.getloadavg(),
                      **cli_latency(opts.ml100k, opts.cli_runs, Path(tmp)),
                      "loadavg_after": os.getloadavg()}
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        with opts.out.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record, indent=2))
        return
    if not opts.movielens.exists():
        raise SystemExit(f"data set not found: {opts.movielens}")
    record: dict[str, object] = {
        "benchmark": "recommend_latency", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": opts.model, "data": str(opts.movielens), "loadavg": os.getloadavg()}
    record["in_process"] = in_process(opts.movielens, opts.model, opts.calls)
    with tempfile.TemporaryDirectory() as tmp:
        record["http"] = over_http(opts.movielens, opts.model, opts.http_calls, Path(tmp))
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    with opts.out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
