"""``tailored analyze ...``: JSON output of every command on the tiny shop, and bad input as
one clear error line (exit 1) from the real program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.errors import InvalidInput
from tailored.store import Store


def analyze(snapshot: Path, *args: str) -> dict[str, Any]:
    db = f"sqlite:///{snapshot.parent / 'store.db'}"
    result = CliRunner().invoke(app, ["--db", db, "analyze", *args, "--snapshot",
                                      str(snapshot), "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_views_people_and_sessions(tiny_snapshot: Path) -> None:
    views = analyze(tiny_snapshot, "views", "--by", "category", "--level", "1")
    assert views["rows"] == [{"key": "Books", "views": 2, "people": 2},
                             {"key": "Shoes", "views": 2, "people": 2}]
    assert views["seconds"] >= 0
    people = analyze(tiny_snapshot, "people", "--limit", "1")
    assert len(people["rows"]) == 1 and people["rows"][0]["events"] == 10
    sessions = analyze(tiny_snapshot, "sessions", "--gap", "60")
    assert sessions["rows"][0]["sessions"] == 5


def test_funnel_with_steps_and_breakdown(tiny_snapshot: Path) -> None:
    data = analyze(tiny_snapshot, "funnel", "--steps", "Product Viewed, Order Completed",
                   "--by", "platform")
    assert data["steps"] == ["Product Viewed", "Order Completed"]
    web = [r["people"] for r in data["rows"] if r["group"] == "web"]
    assert web == [1, 0]


def test_cohorts_and_timeseries(tiny_snapshot: Path) -> None:
    cohorts = analyze(tiny_snapshot, "cohorts", "--period", "week", "--periods", "1")
    assert [(r["cohort"], r["period"], r["active"]) for r in cohorts["rows"]] == [
        ("2026-01-05", 0, 2), ("2026-01-05", 1, 0), ("2026-01-12", 0, 1),
        ("2026-01-12", 1, 0)]
    series = analyze(tiny_snapshot, "timeseries", "--period", "day", "--horizon", "2")
    assert len(series["rows"]) == 16 and len(series["forecast"]["revenue"]["values"]) == 2


def test_demographics_needs_and_satisfaction(tiny_snapshot: Path) -> None:
    demo = analyze(tiny_snapshot, "demographics", "--trait", "gender")
    assert {r["value"]: r["conversion"] for r in demo["rows"]} == {"female": 1.0, "male": 0.0}
    assert demo["people"] == 3
    needs = analyze(tiny_snapshot, "needs", "--top", "1")
    assert len(needs["people"]) == 3
    assert {p["category"][0]["value"] for p in needs["people"]} == {"Shoes > Running",
                                                                    "Books"}
    sat = analyze(tiny_snapshot, "satisfaction", "--by", "segment")
    assert {r["group"]: r["nps"] for r in sat["nps"]} == {"vip": 0.0, "shoes": 100.0}
    assert set(sat) >= {"nps", "csat", "ratings", "repeat_purchases", "seconds"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TAILORED_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "tailored", *args], capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.mark.parametrize(("args", "message"), [
    (["funnel", "--steps", "Product Viewed,Order Complete"],
     "step 2: unknown event 'Order Complete'"),
    (["funnel", "--steps", "Product Viewed"], "a funnel needs at least 2 steps"),
    (["demographics", "--trait", "agee"], "unknown trait 'agee'"),
    (["timeseries", "--period", "fortnight"], "period must be one of day, week, month"),
])
def test_bad_input_is_refused_with_a_clear_error(tiny_snapshot: Path, args: list[str],
                                                 message: str) -> None:
    # In process: the error reaches main(), which prints it as one line (checked below).
    db = f"sqlite:///{tiny_snapshot.parent / 'store.db'}"
    result = CliRunner().invoke(app, ["--db", db, "analyze", *args, "--snapshot",
                                      str(tiny_snapshot), "--json"])
    assert isinstance(result.exception, InvalidInput)
    assert str(result.exception).startswith(message)
    assert result.stdout == ""


def test_an_empty_store_gets_one_error_line_from_the_real_program(tmp_path: Path) -> None:
    Store.open(f"sqlite:///{tmp_path / 'empty.db'}").close()
    proc = run("--db", f"sqlite:///{tmp_path / 'empty.db'}", "analyze", "views")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: the snapshot at ")
    assert "has no events: ingest or import some" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
