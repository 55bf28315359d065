"""Install size and time: the base install beside ``[all]`` (and any other extras), each in a
fresh virtualenv, as a new user would run ``pip install -e .``.

For each variant: a new venv in a temporary folder, ``pip install -q -e ROOT[EXTRAS]`` timed
(pip's download cache as the machine has it; ``--no-cache`` for a cold one), the venv's size
on disk, and the start-up of ``tailored --version``. The base variant also runs the README's
quickstart in a scratch folder, to prove the base install is enough for it. ``--freeze FILE``
writes ``pip freeze`` of the last variant (without the editable project) to FILE: that is how
``constraints.txt`` is made, from ``--extras dev``.

    python benchmarks/install_size.py [--extras '' all] [--python python3.11] [--no-cache]
        [--freeze constraints.txt] [--json]
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def revision() -> str:
    """The git revision measured, marked when src/ or pyproject.toml had changes."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src", "pyproject.toml"],
                           capture_output=True, text=True, cwd=HERE).stdout.strip()
    return rev + ("+dirty-src" if dirty else "")


def tree_bytes(folder: Path) -> int:
    """Bytes of every regular file under ``folder`` (links not followed)."""
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def measure(python: str, extras: str, *, no_cache: bool, freeze: Path | None,
            quickstart: bool) -> dict[str, Any]:
    """One fresh venv with ``extras`` installed: seconds, size, packages, start-up."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAILORED_", "VIRTUAL_ENV", "PIP_CONSTRAINT"))}
    with tempfile.TemporaryDirectory(prefix="tailored-install-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        bin_ = venv / "bin"
        empty = tree_bytes(venv)
        spec = f"{ROOT}[{extras}]" if extras else str(ROOT)
        cmd = [str(bin_ / "pip"), "install", "-q", "-e", spec]
        if no_cache:
            cmd.insert(2, "--no-cache-dir")
        started = time.perf_counter()
        subprocess.run(cmd, check=True, env=env)
        seconds = time.perf_counter() - started
        frozen = subprocess.run([str(bin_ / "pip"), "freeze", "--exclude-editable"],
                                capture_output=True, text=True, check=True, env=env).stdout
        packages = [line for line in frozen.splitlines() if line and not line.startswith("#")]
        if freeze is not None:
            freeze.write_text(
                "# pip freeze of a fresh `pip install -e '.[" + extras + "]'` on Python "
                + subprocess.run([str(bin_ / "python"), "-c",
                                  "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True).stdout.strip()
                + "; made by\n# python benchmarks/install_size.py --extras " + (extras or "''")
                + " --freeze " + freeze.name + "\n" + "\n".join(packages) + "\n")
        t0 = time.perf_counter()
        version = subprocess.run([str(bin_ / "tailored"), "--version"], capture_output=True,
                                 text=True, env=env)
        version_seconds = time.perf_counter() - t0
        out: dict[str, Any] = {
            "extras": extras or "(base)", "install_seconds": round(seconds, 1),
            "venv_mb": round((tree_bytes(venv) - empty) / 1e6, 1),
            "venv_mb_with_pip": round(tree_bytes(venv) / 1e6, 1),
            "packages": len(packages),
            "version": version.stdout.strip() or version.stderr.strip()[-200:],
            "version_seconds": round(version_seconds, 2),
        }
        if quickstart:
            work = Path(tmp) / "work"
            work.mkdir()
            t0 = time.perf_counter()
            done = subprocess.run([str(bin_ / "tailored"), "quickstart", "--json"], cwd=work,
                                  capture_output=True, text=True, env=env)
            out["quickstart_exit"] = done.returncode
            out["quickstart_seconds"] = round(time.perf_counter() - t0, 1)
            if done.returncode != 0:
                out["quickstart_error"] = done.stderr.strip()[-500:]
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", nargs="+", default=["", "all"],
                        help="Variants to install: '' (base), all, dev, clv, ...")
    parser.add_argument("--python", default="python3", help="Interpreter the venvs are made "
                        "from.")
    parser.add_argument("--no-cache", action="store_true", help="Download everything.")
    parser.add_argument("--freeze", type=Path, help="Write the last variant's pip freeze here.")
    parser.add_argument("--json", action="store_true", help="Print JSON only.")
    parser.add_argument("--out", default=str(HERE / "results" / "install.jsonl"),
                        help="JSONL file to append the record to ('' for none).")
    args = parser.parse_args()

    load_before = [round(x, 1) for x in os.getloadavg()]
    results = []
    for n, extras in enumerate(args.extras):
        last = n == len(args.extras) - 1
        results.append(measure(args.python, extras, no_cache=args.no_cache,
                               freeze=args.freeze if last else None,
                               quickstart=extras == ""))
    record = {"benchmark": "install_size", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
              "revision": revision(), "python": args.python, "no_cache": args.no_cache,
              "results": results, "cpus": os.cpu_count(), "load_average_before": load_before,
              "load_average": [round(x, 1) for x in os.getloadavg()]}
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(record) + "\n")
    if args.json:
        print(json.dumps(record, indent=2))
        return
    print(f"{'install':<10} {'seconds':>8} {'MB':>8} {'packages':>9}  version")
    for r in results:
        print(f"{r['extras']:<10} {r['install_seconds']:>8} {r['venv_mb']:>8} "
              f"{r['packages']:>9}  {r['version']}")
        if "quickstart_exit" in r:
            print(f"{'':<10} quickstart: exit {r['quickstart_exit']} in "
                  f"{r['quickstart_seconds']}s {r.get('quickstart_error', '')}")


if __name__ == "__main__":
    main()
