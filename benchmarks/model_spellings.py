"""Many spellings of one model in ``?model=``: server memory and ingest time.

Before the fix, every spelling of a model name (``item-knn``, ``./item-knn``,
``././item-knn``, ...) was joined onto the models folder, loaded and cached as a copy of its
own, and every ingested event was folded into every copy. Now only names of trained models
are accepted (a spelling is refused with 400) and one copy per model is kept.

The script imports MovieLens 100K into a fresh SQLite store, trains ``--model``, starts
``tailored serve`` and measures, after 0 and after each ``--spellings`` count of distinct
spellings asked for: the server's resident memory (VmRSS) and the time to ingest 1,000
rating events through ``POST /v1/batch``. Run it on any revision with that revision's code:

    PYTHONPATH=<checkout>/src python benchmarks/model_spellings.py [--ml100k PATH]
        [--model item-knn] [--spellings 100,300] [--label before|after] [--json]
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

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("TAILORED_DATASETS", HERE.parent.parent / "shared" / "datasets"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml100k", type=Path, default=DATASETS / "ml-100k")
    parser.add_argument("--model", default="item-knn")
    parser.add_argument("--spellings", default="100,300")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "model_spellings.jsonl")
    opts = parser.parse_args()
    counts = [int(n) for n in opts.spellings.split(",")]
    with tempfile.TemporaryDirectory(prefix="tailored-spellings-") as tmp:
        work = Path(tmp)
        db = f"sqlite:///{work / 'bench.db'}"
        # Both old and new revisions honour this folder (the old default was ./tailored-models).
        env = {**os.environ, "TAILORED_MODELS_DIR": str(work / "models")}

        def cli(*args: str) -> str:
            return subprocess.run([sys.executable, "-m", "tailored", "--db", db, *args],
                                  check=True, env=env, capture_output=True, text=True,
                                  cwd=work).stdout

        cli("import", "movielens", str(opts.ml100k))
        cli("train", "--model", opts.model)
        key = json.loads(cli("keys", "create", "--scope", "admin", "--json"))["key"]
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "tailored", "--db", db, "serve",
                                   "--port", str(port)], env=env, cwd=work,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        rng = random.Random(0)
        batches = 0
        steps: list[dict[str, object]] = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth,
                              timeout=600) as http:
                for _ in range(300):
                    try:
                        http.get("/docs")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)

                def ingest_1000() -> float:
                    nonlocal batches
                    batches += 1
                    events = [{"type": "track", "event": "Product Rated",
                               "userId": str(rng.randint(1, 943)),
                               "messageId": f"spell-{batches}-{n}",
                               "properties": {"product_id": str(rng.randint(1, 1682)),
                                              "rating": 5}} for n in range(1000)]
                    started = time.perf_counter()
                    for start in range(0, 1000, 100):  # Segment's SDKs send batches of ~100
                        http.post("/v1/batch", json={"batch": events[start:start + 100]}
                                  ).raise_for_status()
                    return round(time.perf_counter() - started, 3)

                first = http.get("/v1/recommendations/1", params={"model": opts.model})
                first.raise_for_status()
                asked, statuses = 0, {}
                steps.append({"spellings": 0, "rss_mb": rss_mb(server.pid),
                              "ingest_1000_s": ingest_1000()})
                for count in counts:
                    while asked < count:
                        asked += 1
                        spelling = "./" * asked + opts.model
                        status = http.get("/v1/recommendations/1",
                                          params={"model": spelling}).status_code
                        statuses[status] = statuses.get(status, 0) + 1
                    steps.append({"spellings": count, "rss_mb": rss_mb(server.pid),
                                  "ingest_1000_s": ingest_1000(),
                                  "answers": dict(sorted(statuses.items()))})
        finally:
            server.terminate()
            server.wait(30)
    import tailored

    source = Path(tailored.__file__).resolve().parents[2]
    revision = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    record = {"benchmark": "model_spellings",
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "label": opts.label,
              "revision": revision, "command": " ".join(sys.argv), "model": opts.model,
              "loadavg": os.getloadavg(), "steps": steps}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    with opts.out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=2 if opts.json else None))


if __name__ == "__main__":
    main()
