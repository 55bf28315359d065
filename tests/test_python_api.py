"""``from tailored import Tailored``: the documented example runs as written, and the methods
answer as the CLI does, with clear errors for bad input."""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tailored
from tailored import Tailored
from tailored.cli.app import app
from tailored.errors import InvalidInput, NotFound

ROOT = Path(__file__).resolve().parents[1]
EVENTS = [
    {"type": "identify", "userId": "ann", "anonymousId": "a-1",
     "traits": {"email": "ann@example.com"}, "messageId": "m-1",
     "timestamp": "2026-01-05T10:00:00Z"},
    {"type": "track", "event": "Order Completed", "userId": "ann", "messageId": "m-2",
     "timestamp": "2026-01-05T10:05:00Z",
     "properties": {"order_id": "o-1", "products": [{"product_id": "p1", "price": 5.0}]}},
    {"type": "track", "event": "Product Viewed", "userId": "bob", "messageId": "m-3",
     "timestamp": "2026-01-06T10:00:00Z", "properties": {"product_id": "p1"}},
]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    env.update(PYTHONPATH=str(ROOT / "src"), NO_COLOR="1")
    return env


def test_the_documented_example_runs_as_written(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "python-api.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    (tmp_path / "example.py").write_text(block)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=_clean_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^\d+ events; \d+ profiles$", out, flags=re.M)
    assert "2 accepted; userId: either userId or anonymousId is required" in out
    assert re.search(r"^repeat_buyers [1-9]\d* members", out, flags=re.M)
    assert re.search(r"^sku-\d+ - because ", out, flags=re.M)
    assert re.search(r"^purchase_propensity of the busiest: 0\.\d+$", out, flags=re.M)
    assert (tmp_path / "notebook.db").exists()


def test_the_class_docstring_example_runs(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("TAILORED_")]:
        monkeypatch.delenv(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(Tailored, "Tailored", globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_tailored_is_exported_lazily() -> None:
    assert "Tailored" in tailored.__all__
    assert tailored.Tailored is Tailored
    with pytest.raises(AttributeError):
        _ = tailored.Nope  # type: ignore[attr-defined]


@pytest.fixture
def t(tmp_path: Path) -> Iterator[Tailored]:
    with Tailored(f"sqlite:///{tmp_path / 'api.db'}", models_dir=tmp_path / "models") as opened:
        yield opened


def test_ingest_a_file_and_read_people_as_the_cli_does(t: Tailored, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    report = t.ingest(path)
    assert (report["accepted"], report["rejected"]) == (3, [])
    assert t.ingest(EVENTS)["duplicates"] == 3
    result = CliRunner().invoke(app, ["--db", t.store.url, "stats", "--json"])
    assert json.loads(result.stdout) == t.stats()
    ann = t.profile("ann@example.com")
    assert ann["event_count"] == 2
    assert [p["profile_id"] for p in t.profiles(1)] == [ann["profile_id"]]


def test_segments_and_recommendations(t: Tailored) -> None:
    t.ingest(EVENTS)
    t.define_segment("buyers", '{"all": [{"event": "Order Completed"}]}')
    result = t.segment("buyers")
    ann = t.profile("ann")["profile_id"]
    assert (result["size"], result["members"]) == (1, [ann])
    assert t.members("buyers") == [ann]
    with pytest.raises(NotFound, match="train"):
        t.recommend("bob", model="popular")
    assert t.train("popular")["model"] == "popular"
    assert t.recommend("bob", k=1, model="popular", exclude_seen=False)["items"][0][
        "item_id"] == "p1"


def test_bad_input_is_refused_naming_the_field(t: Tailored, tmp_path: Path) -> None:
    cases = [
        (lambda: t.ingest(EVENTS[0]), "events"),
        (lambda: t.ingest(tmp_path / "missing.jsonl"), "events"),
        (lambda: t.import_dataset("imdb", tmp_path), "kind"),
        (lambda: t.import_dataset("cdnow", tmp_path / "none.txt"), "path"),
        (lambda: t.predict("ltv"), "kind"),
        (lambda: t.predict("clv"), "calibration_end"),
        (lambda: t.predict("clv", calibration_end="2026-01-01", colour="red"), "colour"),
        (lambda: t.predict("churn"), "cutoff"),
        (lambda: t.predict("churn", cutoff="soon"), "cutoff"),
        (lambda: t.predict("churn", cutoff="2026-01-01", speed=3), "speed"),
        (lambda: t.recommend("ann", colour="red"), "filters"),
        (lambda: t.demo(tmp_path / "shop", people=0), "people"),
    ]
    for call, field in cases:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == field, (field, caught.value)
