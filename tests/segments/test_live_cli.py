"""``tailored segment define --live`` and ``tailored segment live``: JSON out, and bad input
as one line with exit status 1 and nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.ingest import Ingestor
from tailored.segments.definitions import list_segments
from tailored.segments.live import due_people
from tailored.store import Store
from tests.cli.test_cli import run
from tests.segments.test_compute import EVENTS


def invoke(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", url, "segment", *args])


def data_of(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return json.loads(result.stdout)


def failure(result: Any) -> str:
    """In process the error is the exception (the real program prints it as one line)."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    message = str(result.exception)
    assert "\n" not in message
    return message


@pytest.fixture
def shop(store: Store, store_url: str) -> str:
    assert not Ingestor(store).ingest_events(EVENTS).rejected
    return store_url


def test_define_live_then_off_and_on(shop: str, store: Store) -> None:
    rule = {"not": {"event": "Order Completed", "within_days": 30}}
    data = data_of(invoke(shop, "define", "lapsed", "--rule", json.dumps(rule), "--live",
                          "--json"))
    assert data["live"] is True and data["replaced"] is False
    assert len(due_people(store, now=datetime.now(UTC))) == 4
    (row,) = list_segments(store)
    assert row["live_since"] is not None
    # Redefined without the flag: stays live.
    again = data_of(invoke(shop, "define", "lapsed", "--rule", json.dumps(rule), "--json"))
    assert again["live"] is True and again["replaced"] is True
    off = data_of(invoke(shop, "live", "lapsed", "--off", "--json"))
    assert off == {"segment": "lapsed", "live": False, "live_since": None, "due": 0}
    on = data_of(invoke(shop, "live", "lapsed", "--on", "--json"))
    assert on["live"] is True and on["due"] == 4


def test_live_bad_input_is_one_line_and_writes_nothing(shop: str, store: Store) -> None:
    loop = {"any": [{"trait": "plan", "=": "pro"},
                    {"event": "Segment Exited", "where": {"segment": "vip"}}]}
    line = failure(invoke(shop, "define", "churn", "--rule", json.dumps(loop), "--live",
                          "--json"))
    assert "cannot be live: rule at any[1].event reads 'Segment Exited'" in line
    assert list_segments(store) == []
    line = failure(invoke(shop, "define", "x", "--rule", '{"metric": "recency_days", '
                          '"!=": 3}', "--live"))
    assert "recency_days != 3 changes at an instant" in line
    line = failure(invoke(shop, "define", "x", "--rule", '{"event": ', "--live"))
    assert "neither JSON nor YAML" in line
    assert list_segments(store) == []
    line = failure(invoke(shop, "live", "nope", "--on", "--json"))
    assert "no segment 'nope'" in line
    data_of(invoke(shop, "define", "loop", "--rule", json.dumps(loop), "--json"))
    line = failure(invoke(shop, "live", "loop", "--on"))
    assert "cannot be live" in line
    assert list_segments(store)[0]["live_since"] is None
    result = invoke(shop, "live", "loop")
    assert result.exit_code == 2  # --on or --off is required


def test_model_segment_cannot_be_live(shop: str, store: Store) -> None:
    from tailored.segments import record_membership

    record_membership(store, "champions", [store.find_profile("ann")], kind="rfm")
    line = failure(invoke(shop, "live", "champions", "--on"))
    assert "it is a rfm segment; only rule segments" in line


def test_live_refusal_from_the_real_program(tmp_path: Any) -> None:
    r = run(["segment", "define", "x", "--live", "--json", "--rule",
             '{"not": {"event": "Segment Entered"}}'], tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "error: segment 'x' cannot be live: rule at not.event reads 'Segment Entered', which "
        "live segments record themselves (its own changes would feed back into it); keep "
        "such a rule a batch segment"]
