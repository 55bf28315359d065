"""The demo shop generator: deterministic, well-formed, and consistent with its own truth."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from tailored.catalog import Edge, Item
from tailored.demo import (
    SEGMENTS,
    DemoShop,
    ShopConfig,
    generate_shop,
    read_shop_records,
    write_shop,
)

SMALL = ShopConfig(people=80, items=80, days=30, seed=3)


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    return generate_shop(SMALL)


def true_time(ev: dict[str, Any]) -> datetime:
    # Segment's clock-skew correction; the generator makes it land on the true time.
    if "timestamp" in ev:
        return ev["timestamp"]
    return ev["receivedAt"] - (ev["sentAt"] - ev["originalTimestamp"])


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, shop: DemoShop) -> None:
    first = write_shop(shop, tmp_path / "a")
    again = write_shop(generate_shop(SMALL), tmp_path / "b")
    other = write_shop(generate_shop(ShopConfig(people=80, items=80, days=30, seed=4)),
                       tmp_path / "c")
    assert set(first) == {"items", "edges", "events", "truth", "reviews_zh"}
    for name, path in first.items():
        assert path.read_bytes() == again[name].read_bytes(), name
    assert first["events"].read_bytes() != other["events"].read_bytes()
    assert first["items"].read_bytes() != other["items"].read_bytes()
    assert first["reviews_zh"].read_bytes() != other["reviews_zh"].read_bytes()


def test_counts_in_range(shop: DemoShop) -> None:
    assert len(shop.items) == SMALL.items
    assert len(shop.truth["people"]) == SMALL.people
    assert list(shop.truth["people"])[:2] == ["u0001", "u0002"]
    assert shop.items[0]["item_id"] == "sku-0001"
    # Roughly one session per person a week, about ten events a session.
    assert 1_000 <= len(shop.events) <= 8_000
    assert set(shop.truth["segments"]) == set(SEGMENTS)
    assert sum(len(v) for v in shop.truth["segments"].values()) == SMALL.people
    names = Counter(ev.get("event") for ev in shop.events)
    assert names["Product Viewed"] > names["Product Added"] > names["Order Completed"] > 0


def test_items_and_edges_fit_the_catalog_models(shop: DemoShop) -> None:
    for item in shop.items:
        Item.model_validate(item)
        assert item["currency"] == "EUR" and item["price"] > 0 and item["category"]
    pairs = set()
    for edge in shop.edges:
        Edge.model_validate(edge)
        assert edge["src"] != edge["dst"] and 1 <= edge["weight"] <= 5
        if edge["kind"] == "friend":
            pairs.add((edge["src"], edge["dst"]))
    assert pairs and all((b, a) in pairs for a, b in pairs)  # friendship is symmetric
    segment = {uid: p["segment"] for uid, p in shop.truth["people"].items()}
    same = sum(segment[a] == segment[b] for a, b in pairs)
    assert same / len(pairs) > 0.5  # homophily: far above the 1/6 of random pairs


def test_every_event_is_well_formed_and_in_time_order(shop: DemoShop) -> None:
    ids = [ev["messageId"] for ev in shop.events]
    assert len(set(ids)) == len(ids)
    skewed = 0
    for ev in shop.events:
        assert ev["type"] in ("track", "identify", "page", "screen", "alias")
        if ev["type"] == "alias":
            assert ev["previousId"] and ev["userId"]
        else:
            assert ev.get("userId") or ev.get("anonymousId")
        if "timestamp" not in ev:
            skewed += 1
            assert ev["originalTimestamp"] != true_time(ev)  # the device clock is off
        assert true_time(ev).tzinfo is not None
    assert skewed > 0
    times = [true_time(ev) for ev in shop.events]
    assert times == sorted(times)
    window = shop.truth["window"]
    assert times[0] >= datetime.fromisoformat(window["start"])
    assert times[-1] < datetime.fromisoformat(window["end"])


def test_truth_covers_every_event(shop: DemoShop) -> None:
    truth = shop.truth
    assert set(truth["events"]) == {ev["messageId"] for ev in shop.events}
    assert set(truth["events"].values()) <= set(truth["people"])
    orjson.dumps(truth)  # JSON-serialisable as it is
    for ev in shop.events:
        who = truth["events"][ev["messageId"]]
        anon = ev.get("anonymousId")
        if anon:
            assert truth["anonymous_ids"][anon] in (who, "shared")
        device = ev.get("context", {}).get("device", {}).get("id")
        if device:
            assert truth["device_ids"][device] in (who, "shared")


def test_no_order_before_the_person_viewed_the_product(shop: DemoShop) -> None:
    viewed: dict[str, set[str]] = defaultdict(set)
    orders = 0
    for ev in shop.events:
        who = shop.truth["events"][ev["messageId"]]
        if ev.get("event") == "Product Viewed":
            viewed[who].add(ev["properties"]["product_id"])
        elif ev.get("event") == "Order Completed":
            orders += 1
            for line in ev["properties"]["products"]:
                assert line["product_id"] in viewed[who]
    assert orders > 0


def test_shared_tvs_are_used_by_two_people(shop: DemoShop) -> None:
    shared = shop.truth["shared_devices"]
    assert shared
    logins: dict[str, set[str]] = defaultdict(set)
    watchers: dict[str, set[str]] = defaultdict(set)
    for ev in shop.events:
        device = ev.get("context", {}).get("device", {})
        if device.get("type") != "tv":
            continue
        assert device["id"] in shared
        watchers[device["id"]].add(shop.truth["events"][ev["messageId"]])
        if ev["type"] == "identify":
            logins[device["id"]].add(ev["userId"])
    for device_id, info in shared.items():
        assert len(info["people"]) == 2
        assert watchers[device_id] == set(info["people"])
    assert any(len(users) == 2 for users in logins.values())


def test_identity_cases_are_present(shop: DemoShop) -> None:
    truth = shop.truth
    emails = {p["email"] for p in truth["people"].values()}
    email_only = [ev for ev in shop.events if ev["type"] == "identify" and "userId" not in ev]
    assert email_only
    for ev in email_only:
        who = truth["events"][ev["messageId"]]
        assert ev["traits"]["email"].strip().lower() == truth["people"][who]["email"]
    typed = [ev["traits"]["email"] for ev in shop.events if ev["type"] == "identify"]
    assert any(e != e.strip().lower() for e in typed)  # odd case and whitespace occur
    assert all(e.strip().lower() in emails for e in typed)
    aliases = [ev for ev in shop.events if ev["type"] == "alias"]
    assert aliases and {ev["previousId"]: ev["userId"] for ev in aliases} == truth["aliases"]
    seen_alias: set[str] = set()
    for ev in shop.events:
        if ev["type"] == "alias":
            seen_alias.add(ev["previousId"])
        elif ev.get("userId") in truth["aliases"]:
            assert ev["userId"] not in seen_alias  # the old id is not used after the alias
    anonymous_only = {ev["anonymousId"] for ev in shop.events if "anonymousId" in ev} - {
        ev["anonymousId"] for ev in shop.events if "anonymousId" in ev and "userId" in ev}
    assert anonymous_only  # some devices never log in


def test_events_pass_ingest_validation(shop: DemoShop) -> None:
    from tailored.events.validation import validate_event

    received = datetime(2030, 1, 1, tzinfo=UTC)
    platforms = Counter()
    for ev in shop.events:
        valid = validate_event(ev, received_at=received)
        assert valid.timestamp == true_time(ev)
        platforms[valid.platform] += 1
    assert {"web", "ios", "android", "tv", "server"} <= set(platforms)


def test_write_read_round_trip(tmp_path: Path, shop: DemoShop) -> None:
    paths = write_shop(shop, tmp_path)
    records = list(read_shop_records(tmp_path))
    kinds = [r.kind for r in records]
    assert kinds == ["item"] * len(shop.items) + ["edge"] * len(shop.edges) + ["event"] * len(
        shop.events)
    assert [r.line for r in records[: len(shop.items)]] == list(range(1, len(shop.items) + 1))

    def as_json(obj: Any) -> Any:
        return orjson.loads(orjson.dumps(obj, default=str))

    events = [r.data for r in records if r.kind == "event"]
    stamps = [ev.get("timestamp") or ev["originalTimestamp"] for ev in events]
    assert all(t.endswith("Z") and len(t) == len("2026-06-01T00:00:00.000Z") for t in stamps)
    for ev, back in zip(shop.events, events, strict=True):
        assert back["messageId"] == ev["messageId"]
        stamp = "timestamp" if "timestamp" in ev else "originalTimestamp"
        assert datetime.fromisoformat(back[stamp]) == ev[stamp]
        assert as_json({k: v for k, v in ev.items() if not isinstance(v, datetime)}) == {
            k: v for k, v in back.items() if k not in ("timestamp", "originalTimestamp",
                                                      "sentAt", "receivedAt")}
    assert [r.data for r in records if r.kind == "edge"] == shop.edges
    truth = orjson.loads(paths["truth"].read_bytes())
    assert truth == shop.truth


def test_message_ids_are_stable_message_ids(shop: DemoShop) -> None:
    from tailored.ingest.sources.records import stable_message_id

    ids = {ev["messageId"] for ev in shop.events}
    assert {stable_message_id("demo", SMALL.seed, n) for n in range(1, len(ids) + 1)} == ids
