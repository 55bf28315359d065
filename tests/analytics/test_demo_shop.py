"""The demo shop through the real ingest path: analytics agree with the raw events it sent,
and breakdowns add up to the whole, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tailored.analytics as analytics
from tailored.analytics import Source, csat, funnel, nps, series, session_summary, views
from tailored.demo import ShopConfig, generate_shop
from tailored.demo.shop import DemoShop
from tailored.ingest import Ingestor, SourceRecord
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tests.analytics.conftest import BACKEND_PARAMS, open_on


def rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    return generate_shop(ShopConfig(people=60, items=40, days=30, seed=11))


@pytest.fixture(scope="module")
def shop_snapshot(shop: DemoShop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("demo")
    store = Store.open(f"sqlite:///{work / 'store.db'}")
    try:
        records = [SourceRecord("item", it, i) for i, it in enumerate(shop.items)]
        records += [SourceRecord("event", ev, i) for i, ev in enumerate(shop.events)]
        Ingestor(store).ingest(records)
        export_snapshot(store, work / "snapshot")
    finally:
        store.close()
    return work / "snapshot"


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def demo(request: pytest.FixtureRequest, shop_snapshot: Path) -> Iterator[Source]:
    yield from open_on(request, shop_snapshot)


def answers(shop: DemoShop, kind: str) -> list[float]:
    seen: set[str] = set()
    out = []
    for ev in shop.events:
        props = ev.get("properties") or {}
        if ev.get("event") == "Survey Answered" and props.get("survey") == kind \
                and ev["messageId"] not in seen:
            seen.add(ev["messageId"])
            out.append(float(props["score"]))
    return out


def test_nps_and_csat_match_the_answers_the_shop_sent(shop: DemoShop, demo: Source) -> None:
    scores = answers(shop, "nps")
    assert scores, "the demo shop should send NPS answers"
    expected = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)
    (got,) = rows(nps(demo))
    assert got["answers"] == len(scores) and got["nps"] == pytest.approx(expected)
    c = answers(shop, "csat")
    (got_c,) = rows(csat(demo))
    assert got_c["answers"] == len(c)
    assert got_c["csat"] == pytest.approx(100 * sum(s >= 4 for s in c) / len(c))


def test_orders_per_day_match_the_orders_sent(shop: DemoShop, demo: Source) -> None:
    sent = {ev["messageId"] for ev in shop.events if ev.get("event") == "Order Completed"}
    assert sum(r["orders"] for r in rows(series(demo, period="day"))) == len(sent)


def test_breakdowns_add_up_to_the_whole(demo: Source) -> None:
    whole = rows(funnel(demo))
    by_device = rows(funnel(demo, by="device"))
    for step in range(1, 5):
        assert sum(r["people"] for r in by_device if r["step"] == step) == \
            whole[step - 1]["people"]
    assert {r["group"] for r in by_device} <= {"ios", "android", "tv", "web", "server",
                                               "unknown"}
    (total,) = rows(session_summary(demo))
    assert sum(r["sessions"] for r in rows(session_summary(demo, by="platform"))) == \
        total["sessions"]
    item_views = sum(r["views"] for r in rows(views(demo, by="item")))
    assert sum(r["views"] for r in rows(views(demo, by="category"))) == item_views


def test_the_package_surface_is_sorted_and_real() -> None:
    names = analytics.__all__
    key = [(0 if n.isupper() else 1 if n[:1].isupper() else 2, n) for n in names]
    assert key == sorted(key)
    for name in names:
        assert getattr(analytics, name) is not None
