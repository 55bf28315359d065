"""Readable terminal output: rates as percentages, durations as durations, ids never cut,
cohorts as a triangle, people named by user id or masked e-mail beside their profile id."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.cli.result_rows import duration_text, render_retention, render_rows
from tailored.ingest import Ingestor
from tailored.segments.membership import record_membership
from tailored.store import Store
from tailored.store.labels import person_labels
from tailored.store.personal import mask_email


def _printed(render: object, *args: object, width: int = 60, **kwargs: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    render(console, *args, **kwargs)  # type: ignore[operator]
    return out.getvalue()


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (4.25, "4.2 s"), (42, "42 s"), (65.9, "1 min 6 s"), (120, "2 min"),
    (7_500, "2 h 5 min"), (1_337_838, "15 d 11 h"), (86_400 * 3, "3 d"), (-30, "-30 s")])
def test_durations_read_as_durations(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_rows_show_rates_as_percentages_and_durations() -> None:
    rows = [{"bounce_rate": 0.25, "step_conversion": 1.0, "share": 0.0714,
             "median_duration_seconds": 1_337_838.0, "median_seconds": None, "events": 1234}]
    text = _printed(render_rows, rows, title="t", width=120)
    assert "25.0%" in text and "100.0%" in text and "7.1%" in text
    assert "15 d 11 h" in text and "1,337,838" not in text
    assert "median duration" in text and "bounce rate" in text and "1,234" in text


def test_ids_fold_but_are_never_cut() -> None:
    long_id = "6c9520c5-78c9-439b-89e2-ff2612d2dc81"
    rows = [{"profile_id": long_id, "events": 1208, "page_views": 506, "orders": 13}]
    text = _printed(render_rows, rows, title="t", width=40)
    assert "…" not in text
    cells = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert "".join(cells) == long_id


def test_retention_is_a_triangle() -> None:
    rows = [{"cohort": "2026-06-01", "period": 0, "size": 394, "active": 394, "retention": 1.0},
            {"cohort": "2026-06-01", "period": 1, "size": 394, "active": 337,
             "retention": 0.855},
            {"cohort": "2026-07-01", "period": 0, "size": 82, "active": 82, "retention": 1.0}]
    lines = [line for line in _printed(render_retention, rows, title="r", width=80)
             .splitlines() if line.startswith("│")]
    assert [c.strip() for c in lines[0].strip("│").split("│")] == [
        "2026-06-01", "394", "100%", "86%"]
    assert [c.strip() for c in lines[1].strip("│").split("│")] == [
        "2026-07-01", "82", "100%", ""]


def test_emails_are_masked() -> None:
    assert mask_email("ann@example.com") == "a**@example.com"
    assert mask_email("bo@x.org") == "b**@x.org"
    assert mask_email("nobody") == "n*****"


def _people(store: Store) -> dict[str, str]:
    events = [
        {"type": "identify", "userId": "u-ann", "traits": {"email": "ann@example.com"},
         "messageId": "1", "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "identify", "userId": "bob@example.com", "messageId": "2",
         "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "track", "anonymousId": "anon-1", "event": "x", "messageId": "3",
         "timestamp": "2026-01-01T00:00:00Z"},
    ]
    assert not Ingestor(store).ingest_events(events).rejected
    return {name: store.find_profile(i) for name, i in
            (("ann", "u-ann"), ("bob", "bob@example.com"), ("anon", "anon-1"))}


def test_people_are_named_by_user_id_or_masked_email(store: Store) -> None:
    ids = _people(store)
    labels = person_labels(store, [*ids.values(), "gone"])
    assert labels[ids["ann"]] == "u-ann"
    assert labels[ids["bob"]] == "b**@example.com"  # an e-mail sent as the user id
    assert labels[ids["anon"]] == "(anonymous)"
    assert labels["gone"] == "(no profile)"


def test_members_and_profiles_show_the_person_beside_the_profile_id(
        store: Store, store_url: str) -> None:
    ids = _people(store)
    record_membership(store, "vip", [ids["ann"], ids["bob"]], kind="rule")
    runner = CliRunner()
    r = runner.invoke(app, ["--db", store_url, "segment", "members", "vip"])
    assert r.exit_code == 0, r.output
    assert "u-ann" in r.stdout and "b**@example.com" in r.stdout
    assert "bob@example.com" not in r.stdout
    data = runner.invoke(app, ["--db", store_url, "segment", "members", "vip", "--json"])
    assert {p["person"] for p in json.loads(data.stdout)["people"]} == {
        "u-ann", "b**@example.com"}
    r = runner.invoke(app, ["--db", store_url, "profiles"])
    assert "u-ann" in r.stdout and "b**@example.com" in r.stdout
    assert "(anonymous)" in r.stdout
