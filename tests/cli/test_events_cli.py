"""``tailored events``: the event catalogue, on both stores."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.ingest import Ingestor
from tailored.store import Store

WEB = {"library": {"name": "analytics.js"}, "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"}
IOS = {"device": {"id": "d1", "type": "ios"}, "os": {"name": "iOS"}}


def _ev(n: int, ctx: dict, day: int, **body: object) -> dict:
    return {"type": "track", "userId": "u1", "context": ctx, "messageId": f"m{n}",
            "timestamp": f"2026-03-{day:02d}T10:00:00Z", **body}


EVENTS = [
    _ev(1, WEB, 3, event="Product Viewed", properties={"product_id": "p1", "price": 9.5}),
    _ev(2, IOS, 5, event="Product Viewed", properties={"product_id": 7, "tags": ["a"]}),
    _ev(3, IOS, 9, event="Product Viewed", properties={"product_id": "p2", "on_sale": True,
                                                       "meta": {"x": 1}, "note": None}),
    _ev(4, WEB, 4, event="Order Completed", properties={"order_id": "o1", "revenue": 20}),
    {"type": "page", "userId": "u1", "context": WEB, "messageId": "m5", "name": "Home",
     "timestamp": "2026-03-01T08:00:00Z", "properties": {"path": "/"}},
    {"type": "identify", "userId": "u1", "context": WEB, "messageId": "m6",
     "timestamp": "2026-03-01T07:00:00Z", "traits": {"plan": "pro"}},
]


def test_events_lists_names_counts_platforms_times_and_property_types(store: Store,
                                                                     store_url: str) -> None:
    assert not Ingestor(store).ingest_events(EVENTS).rejected
    r = CliRunner().invoke(app, ["--db", store_url, "events", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["names"] == 4 and data["total"] == 6
    by_name = {e["event"]: e for e in data["events"]}
    assert data["events"][0]["event"] == "Product Viewed"  # the busiest first
    viewed = by_name["Product Viewed"]
    assert viewed["type"] == "track" and viewed["count"] == 3
    assert viewed["platforms"] == {"ios": 2, "web": 1}
    assert viewed["first_seen"].startswith("2026-03-03T10:00:00")
    assert viewed["last_seen"].startswith("2026-03-09T10:00:00")
    props = viewed["properties"]
    assert props["product_id"] == {"events": 3, "types": {"string": 2, "number": 1}}
    assert props["price"]["types"] == {"number": 1}
    assert props["tags"]["types"] == {"array": 1}
    assert props["on_sale"]["types"] == {"boolean": 1}
    assert props["meta"]["types"] == {"object": 1}
    assert props["note"]["types"] == {"null": 1}
    assert by_name["Order Completed"]["properties"]["revenue"]["types"] == {"number": 1}
    assert by_name["page"]["type"] == "page" and "path" in by_name["page"]["properties"]
    assert by_name["identify"]["count"] == 1


def test_events_on_an_empty_store_says_so(store_url: str, store: Store) -> None:
    r = CliRunner().invoke(app, ["--db", store_url, "events"])
    assert r.exit_code == 0, r.output
    assert "no events yet" in r.stdout
    data = json.loads(CliRunner().invoke(app, ["--db", store_url, "events", "--json"]).stdout)
    assert data == {"events": [], "names": 0, "total": 0}
