"""A synthetic shop with a hidden ground truth, to demo Tailored and to test it against.

:func:`generate_shop` builds customers, a catalog, a social graph and months of Segment
events; :func:`write_shop` writes them as JSON lines plus ``truth.json``;
:func:`read_shop_records` reads the files back as records for the ingest pipeline.

The truth says who every event really belongs to, which anonymous and device ids are whose,
each person's taste segment and the aliases, so later stages (identity stitching,
segmentation, recommendation) can be scored on how much of it they recover. The same seed
always gives byte-identical files.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tailored.demo.catalog import SEGMENTS, ItemSpec, make_items
from tailored.demo.context import iso, to_ms
from tailored.demo.graph import make_edges
from tailored.demo.people import Person, make_people
from tailored.demo.reviews import write_labelled_reviews
from tailored.demo.sessions import Simulator
from tailored.ingest.sources.records import RecordKind, SourceRecord

__all__ = ["DemoShop", "ShopConfig", "generate_shop", "read_shop_records", "write_shop"]

_FILES: tuple[tuple[RecordKind, str], ...] = (
    ("item", "items.jsonl"), ("edge", "edges.jsonl"), ("event", "events.jsonl"))


@dataclass(frozen=True, kw_only=True)
class ShopConfig:
    """How big a shop to generate, over which window, from which seed."""

    people: int = 400
    items: int = 300
    days: int = 120
    seed: int = 7
    start: datetime = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class DemoShop:
    """A generated shop: catalog items, social edges, Segment events and the truth."""

    items: list[dict[str, Any]]  # tailored.catalog.Item fields
    edges: list[dict[str, Any]]  # tailored.catalog.Edge fields; src/dst are user ids
    events: list[dict[str, Any]]  # Segment events, in true time order
    truth: dict[str, Any]  # JSON-serialisable ground truth
    config: ShopConfig = field(default_factory=ShopConfig)


def generate_shop(config: ShopConfig = ShopConfig()) -> DemoShop:
    """Generate the shop for ``config``; deterministic for a given config."""
    if config.people < 1 or config.items < 1 or config.days < 1:
        raise ValueError("people, items and days must each be at least 1")
    if config.start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = to_ms(config.start.astimezone(UTC))
    # One generator for everything, used in a fixed order: that is what makes a seed
    # reproduce the same shop byte for byte.
    rng = random.Random(config.seed)
    items = make_items(rng, config.items, start)
    people = make_people(rng, config.people, start, config.days)
    edges = make_edges(rng, people)
    sim = Simulator(rng, config.seed, start, config.days, items, people)
    sim.run()
    sim.events.sort(key=lambda e: (e[0], e[1]))
    events = [ev for _, _, ev in sim.events]
    truth = _truth(config, start, people, items, sim)
    return DemoShop([i.data for i in items], edges, events, truth, config)


def _truth(config: ShopConfig, start: datetime, people: list[Person], items: list[ItemSpec],
           sim: Simulator) -> dict[str, Any]:
    anonymous: dict[str, str] = {}
    devices: dict[str, str] = {}
    shared: dict[str, Any] = {}
    persons: dict[str, Any] = {}
    for p in people:
        device_ids, anon_ids, details = [], [], []
        for dev in p.devices:
            owner = "shared" if dev.shared else p.uid
            anonymous.update((a, owner) for a in dev.anonymous_ids)
            anon_ids += dev.anonymous_ids
            if dev.device_id:
                devices[dev.device_id] = owner
                device_ids.append(dev.device_id)
            if dev.shared:
                shared[dev.device_id or dev.key] = {
                    "household": p.household, "people": list(dev.owners),
                    "anonymous_ids": list(dev.anonymous_ids)}
            details.append({"platform": dev.platform, "form": dev.form,
                            "device_id": dev.device_id, "anonymous_ids": list(dev.anonymous_ids),
                            "logs_in": dev.logs_in, "shared": dev.shared})
        persons[p.uid] = {
            "segment": p.segment, "secondary_interest": p.secondary, "activity": p.activity,
            "sessions_per_day": round(p.rate, 4), "price_sensitivity": p.price_sensitivity,
            "email": p.email, "first_name": p.first, "last_name": p.last, "age": p.age,
            "gender": p.gender, "city": p.city[0], "country": p.city[2], "locale": p.city[4],
            "income_band": p.income, "signup_date": p.signup_at.date().isoformat(),
            "churned_at": iso(p.churn_at) if p.churn_at else None, "household": p.household,
            "previous_ids": [p.old_id] if p.old_id else [],
            "newsletter_anonymous_ids": list(p.newsletter.anonymous_ids) if p.newsletter else [],
            "friends": sorted(p.friends), "orders": p.state["orders"],
            "devices": device_ids + anon_ids, "device_ids": device_ids,
            "anonymous_ids": anon_ids, "device_details": details,
        }
    config_data = asdict(config)
    config_data["start"] = iso(start)
    return {
        "seed": config.seed,
        "config": config_data,
        "window": {"start": iso(start), "end": iso(start + timedelta(days=config.days))},
        "people": persons,
        "segments": {s: [p.uid for p in people if p.segment == s] for s in SEGMENTS},
        "anonymous_ids": anonymous,
        "device_ids": devices,
        "shared_devices": shared,
        "aliases": {p.old_id: p.uid for p in people if p.old_id and p.alias_sent},
        "promotions": [{**pr, "start": iso(pr["start"]), "end": iso(pr["end"])}
                       for pr in sim.promos],
        "items": {i.item_id: {"quality": i.quality, "popularity": i.popularity, "sale": i.sale,
                              "category": i.data["category"]} for i in items},
        "events": sim.truth,
    }


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _line(obj: Any) -> bytes:
    # Datetimes go through _default, so they are written as Segment writes them (ms, Z).
    return orjson.dumps(obj, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME) + b"\n"


def write_shop(shop: DemoShop, folder: Path) -> dict[str, Path]:
    """Write items/edges/events as JSON lines, truth.json, and reviews-zh.csv (labelled
    Chinese reviews to train the sentiment model on) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for (_, name), rows in zip(_FILES, (shop.items, shop.edges, shop.events), strict=True):
        path = folder / name
        path.write_bytes(b"".join(_line(row) for row in rows))
        paths[name.split(".")[0]] = path
    paths["truth"] = folder / "truth.json"
    paths["truth"].write_bytes(orjson.dumps(shop.truth, default=_default,
                                            option=orjson.OPT_PASSTHROUGH_DATETIME
                                            | orjson.OPT_INDENT_2) + b"\n")
    paths["reviews_zh"] = write_labelled_reviews(folder, shop.config.seed)
    return paths


def read_shop_records(folder: Path) -> Iterator[SourceRecord]:
    """Items, then edges, then events of a written shop, as records; line is 1-based."""
    for kind, name in _FILES:
        with (Path(folder) / name).open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    yield SourceRecord(kind, orjson.loads(line), number)
