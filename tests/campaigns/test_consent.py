"""Consent per channel: from Segment's context.consent as events are ingested (the latest by
event time, whatever order they arrive in), from the CLI, the opt-in/opt-out default,
read across merges, erased with the person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored.campaigns.consent import consent_of
from tailored.cli.app import app
from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.store import Store


def _ev(mid: str, at: str, prefs: dict[str, Any], **ids: str) -> dict[str, Any]:
    return {"type": "track", "event": "Page Viewed", "messageId": mid, "timestamp": at,
            "context": {"consent": {"categoryPreferences": prefs}}, **ids}


def test_consent_from_events_latest_by_event_time(sqlite_store: Store) -> None:
    ing = Ingestor(sqlite_store)
    ing.ingest_events([_ev("a", "2026-11-02T10:00:00Z", {"email": True, "ads": False,
                                                          "Analytics": True, "sms": "yes"},
                           userId="ann")])
    # An older event arriving later does not undo the newer choice.
    ing.ingest_events([_ev("b", "2026-11-01T10:00:00Z", {"email": False}, userId="ann")])
    got = consent_of(sqlite_store, "ann", "email")
    assert got["granted"] is True and got["source"] == "event"
    assert got["given_at"].startswith("2026-11-02T10:00")
    assert consent_of(sqlite_store, "ann", "ads")["granted"] is False
    # Not a channel we know, or not true/false: not consent; the default decides.
    assert consent_of(sqlite_store, "ann", "sms") == {
        "profile_id": sqlite_store.find_profile("ann"), "channel": "sms", "granted": False,
        "given_at": None, "source": "default"}
    assert consent_of(sqlite_store, "ann", "sms", default="opt-out")["granted"] is True
    ing.ingest_events([_ev("c", "2026-11-03T10:00:00Z", {"email": False}, userId="ann")])
    assert consent_of(sqlite_store, "ann", "email")["granted"] is False
    with pytest.raises(InvalidInput, match="unknown channel"):
        consent_of(sqlite_store, "ann", "fax")


def test_consent_given_anonymously_follows_the_person_through_a_merge(sqlite_store: Store
                                                                       ) -> None:
    ing = Ingestor(sqlite_store)
    ing.ingest_events([_ev("a", "2026-11-01T10:00:00Z", {"push": True}, anonymousId="anon-1"),
                       _ev("u", "2026-10-01T10:00:00Z", {}, userId="bob")])
    ing.ingest_events([{"type": "identify", "userId": "bob", "anonymousId": "anon-1",
                        "messageId": "id", "timestamp": "2026-11-01T11:00:00Z"}])
    assert consent_of(sqlite_store, "bob", "push")["granted"] is True
    sqlite_store.erase_person("bob")
    assert not Ingestor(sqlite_store).ingest_events([_ev(
        "z", "2026-11-05T10:00:00Z", {}, userId="bob")]).rejected
    assert consent_of(sqlite_store, "bob", "push")["source"] == "default"


def test_the_cli_grants_revokes_and_shows(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(db) as store:
        Ingestor(store).ingest_events([{"type": "identify", "userId": "cy", "messageId": "1"}])
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--db", db, "consent", "cy", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert run("--channel", "email", "--json")["source"] == "default"
    granted = run("--channel", "email", "--grant", "--json")
    assert granted["granted"] is True and granted["source"] == "cli"
    assert run("--channel", "email", "--revoke", "--json")["granted"] is False
    both = runner.invoke(app, ["--db", db, "consent", "cy", "--channel", "email", "--grant",
                               "--revoke"])
    assert both.exit_code != 0 and "not both" in str(both.exception)
