"""Poison events: each is one rejection naming its field, and everything around it is stored.

Every case runs on SQLite and PostgreSQL, through ``POST /v1/batch`` and through
``tailored ingest`` of a JSON Lines file with the bad line between good ones.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tailored.api.app import create_app
from tailored.cli.app import app as cli
from tailored.config import Settings
from tailored.events.storable import MAX_DEPTH
from tailored.store import Store

TS = "2026-01-01T10:00:00Z"


def nested(levels: int) -> dict[str, Any]:
    """An object ``levels`` deep: {"a": {"a": ... {}}}."""
    doc: dict[str, Any] = {}
    for _ in range(levels - 1):
        doc = {"a": doc}
    return doc


def nested_text(levels: int) -> str:
    """A marker :func:`encode` replaces by JSON text ``levels`` deep (Python's json module
    cannot write 1,000 levels; a client in another language can)."""
    return f"@@nested-{levels}@@"


def encode(doc: Any) -> str:
    text = json.dumps(doc)
    for levels in (255, 1000):
        deep = '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)
        text = text.replace(f'"{nested_text(levels)}"', deep)
    return text


def track(**fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Viewed", "userId": "u", "timestamp": TS, **fields}


# (name, event, field the rejection names)
POISON: list[tuple[str, dict[str, Any], str]] = [
    ("earliest date with +23:59", track(timestamp="0001-01-01T00:00:00+23:59"), "timestamp"),
    ("latest date with -23:59", track(timestamp="9999-12-31T23:59:59-23:59"), "timestamp"),
    ("sentAt far after originalTimestamp",
     track(timestamp=None, sentAt="9999-12-31T00:00:00Z",
           originalTimestamp="0001-01-02T00:00:00Z"), "sentAt"),
    ("sentAt far before originalTimestamp",
     track(timestamp=None, sentAt="0001-01-02T00:00:00Z",
           originalTimestamp="9999-12-31T00:00:00Z"), "sentAt"),
    ("properties nested 255 levels", track(properties=nested_text(255)), "properties"),
    ("properties nested 1000 levels", track(properties=nested_text(1000)), "properties"),
    ("context not an object", track(context="web"), "context"),
    ("context a list", track(context=[1, 2]), "context"),
    ("NUL in userId", track(userId="ann\x00"), "userId"),
    ("NUL in anonymousId", track(userId=None, anonymousId="a\x00b"), "anonymousId"),
    ("NUL in messageId", track(messageId="m\x00"), "messageId"),
    ("NUL in a property", track(properties={"sku": "p\x001"}), "properties.sku"),
    ("NUL in a property name", track(properties={"s\x00ku": "p1"}), "properties.s\\u0000ku"),
    ("NUL in a nested property",
     track(properties={"products": [{"product_id": "\x00"}]}),
     "properties.products[0].product_id"),
    ("NUL in the event name", track(event="View\x00ed"), "event"),
    ("NUL in a device id", track(context={"device": {"id": "d\x00"}}), "context.device.id"),
    ("NUL in an e-mail trait",
     {"type": "identify", "userId": "u", "timestamp": TS, "traits": {"email": "a\x00@b.co"}},
     "traits.email"),
    ("userId over 512 characters", track(userId="u" * 600), "userId"),
    ("device id over 512 characters", track(context={"device": {"id": "d" * 600}}),
     "context.device.id"),
    ("e-mail over 512 characters",
     {"type": "identify", "userId": "u", "timestamp": TS,
      "traits": {"email": "a" * 600 + "@example.com"}}, "traits.email"),
    ("context e-mail over 512 characters",
     track(context={"traits": {"email": "a" * 600 + "@example.com"}}), "context.traits.email"),
]


def good(i: int) -> dict[str, Any]:
    return track(userId=f"good-{i}", messageId=f"good-{i}")


def without_none(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None}


@pytest.mark.parametrize(("name", "event", "field"), POISON, ids=[p[0] for p in POISON])
def test_poison_event_in_a_batch_is_rejected_alone(
        store: Store, store_url: str, name: str, event: dict[str, Any], field: str) -> None:
    key = store.create_key("ingest")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    batch = {"batch": [good(0), without_none(event), good(1)],
             "context": {"library": {"name": "test"}}}
    with TestClient(create_app(Settings(database_url=store_url), store=store)) as client:
        r = client.post("/v1/batch", content=encode(batch), headers=auth)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["accepted"] == 2
    assert [(x["index"], x["field"]) for x in answer["rejected"]] == [(1, field)]
    assert answer["rejected"][0]["reason"].startswith(field)
    assert store.stats()["events"] == 2


def test_file_with_every_poison_line_loads_all_good_lines(
        store: Store, store_url: str, tmp_path: Path) -> None:
    lines = []
    for i, (_, event, _) in enumerate(POISON):
        lines += [json.dumps(good(i)), encode(without_none(event))]
    lines.append(json.dumps(good(len(POISON))))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")

    result = CliRunner().invoke(cli, ["--db", store_url, "ingest", str(path), "--json"])
    assert result.exit_code == 1, result.output  # some lines were rejected
    report = json.loads(result.stdout)
    assert report["accepted"] == len(POISON) + 1
    assert [(r["index"], r["field"]) for r in report["rejected"]] == [
        (2 * i + 2, field) for i, (_, _, field) in enumerate(POISON)]
    assert store.stats()["events"] == len(POISON) + 1


def test_deepest_storable_nesting_is_accepted(store: Store) -> None:
    from tailored.ingest import Ingestor

    # The event is level 1: properties may hold MAX_DEPTH - 1 more, and one more is too many.
    report = Ingestor(store).ingest_events([
        track(messageId="deep", properties=nested(MAX_DEPTH - 1)),
        track(messageId="deeper", properties=nested(MAX_DEPTH))])
    assert report.accepted == 1
    assert [(r.index, r.field) for r in report.rejected] == [(1, "properties")]
    assert store.stats()["events"] == 1


def test_values_json_cannot_hold_are_rejected_from_the_python_api(store: Store) -> None:
    from tailored.ingest import Ingestor

    report = Ingestor(store).ingest_events([
        good(0), track(messageId="big", properties={"n": 2**70}),
        track(messageId="surrogate", properties={"t": "\ud800"}), good(1)])
    assert report.accepted == 2
    assert [(r.index, r.field) for r in report.rejected] == [
        (1, "properties.n"), (2, "properties.t")]
