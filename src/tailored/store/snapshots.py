"""Parquet snapshots of the store, which analytics, training and Spark read.

One folder per snapshot: events, interactions (one row per person × item × event, with
products of an order on rows of their own), profiles, identities, items and edges, plus a
manifest. Everything streams in chunks, so a snapshot of any size fits in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from tailored.events import signal_of
from tailored.store.store import Store
from tailored.store.tables import (
    edges,
    events,
    identities,
    items,
    profiles,
    segment_membership,
)

__all__ = ["SNAPSHOT_TABLES", "export_snapshot", "interaction_rows"]

_TS = pa.timestamp("us", tz="UTC")
_JSON = pa.string()  # nested documents as JSON text: every engine reads it

SCHEMAS: dict[str, pa.Schema] = {
    "events": pa.schema([
        ("message_id", pa.string()), ("type", pa.string()), ("event", pa.string()),
        ("name", pa.string()), ("profile_id", pa.string()), ("user_id", pa.string()),
        ("anonymous_id", pa.string()), ("device_id", pa.string()), ("platform", pa.string()),
        ("timestamp", _TS), ("received_at", _TS), ("context", _JSON), ("properties", _JSON),
        ("traits", _JSON),
    ]),
    "interactions": pa.schema([
        ("profile_id", pa.string()), ("item_id", pa.string()), ("event", pa.string()),
        ("signal", pa.string()), ("timestamp", _TS), ("rating", pa.float64()),
        ("quantity", pa.float64()), ("price", pa.float64()), ("value", pa.float64()),
        ("platform", pa.string()), ("message_id", pa.string()),
    ]),
    "profiles": pa.schema([
        ("profile_id", pa.string()), ("user_id", pa.string()), ("traits", _JSON),
        ("first_seen", _TS), ("last_seen", _TS), ("created_at", _TS),
    ]),
    "identities": pa.schema([
        ("kind", pa.string()), ("value", pa.string()), ("profile_id", pa.string()),
        ("first_seen", _TS), ("linked_at", _TS),
    ]),
    "items": pa.schema([
        ("item_id", pa.string()), ("title", pa.string()), ("description", pa.string()),
        ("category", pa.list_(pa.string())), ("brand", pa.string()), ("price", pa.float64()),
        ("currency", pa.string()), ("tags", pa.list_(pa.string())), ("attributes", _JSON),
        ("image_url", pa.string()), ("available", pa.bool_()), ("updated_at", _TS),
    ]),
    "edges": pa.schema([
        ("src", pa.string()), ("dst", pa.string()), ("src_profile", pa.string()),
        ("dst_profile", pa.string()), ("kind", pa.string()), ("weight", pa.float64()),
    ]),
    # Current segment members (canonical profile ids), so analytics can group by segment.
    "segment_members": pa.schema([("profile_id", pa.string()), ("segment", pa.string())]),
}
SNAPSHOT_TABLES = tuple(SCHEMAS)


def _num(v: Any) -> float | None:
    try:
        return None if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return None


def interaction_rows(row: Any) -> Iterator[dict[str, Any]]:
    """The person-item interactions one track event holds."""
    props = row.properties or {}
    signal = signal_of(row.event)
    base = {"profile_id": row.profile_id, "event": row.event,
            "signal": signal.value if signal else None, "timestamp": row.timestamp,
            "platform": row.platform, "message_id": row.message_id}
    products = props.get("products")
    if isinstance(products, list) and products and row.event != "Product List Viewed":
        for p in products:
            if isinstance(p, dict) and p.get("product_id") is not None:
                q: float = _num(p.get("quantity")) or 1.0
                price = _num(p.get("price"))
                yield {**base, "item_id": str(p["product_id"]), "rating": None, "quantity": q,
                       "price": price, "value": q * price if price is not None else None}
        return
    if props.get("product_id") is not None:
        quantity, price = _num(props.get("quantity")), _num(props.get("price"))
        value = _num(props.get("value"))
        if value is None and price is not None:
            value = (quantity or 1.0) * price
        yield {**base, "item_id": str(props["product_id"]), "rating": _num(props.get("rating")),
               "quantity": quantity, "price": price, "value": value}


class _Writer:
    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / f"{name}.parquet"
        self.schema = SCHEMAS[name]
        self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))
            self.rows += len(rows)

    def close(self) -> None:
        self.writer.close()


def _dump(doc: Any) -> str:
    return orjson.dumps(doc, default=str).decode()


def export_snapshot(
    store: Store, folder: Path, *, chunk: int = 50_000,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write a snapshot of the store into ``folder``; return its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    personal = store.personal
    counts: dict[str, int] = {}
    with store.reading() as conn:
        # One read transaction: every file of the snapshot sees the same moment.
        conn.begin()
        ev_out, ix_out = _Writer(folder, "events"), _Writer(folder, "interactions")
        done = 0
        result = conn.execution_options(yield_per=chunk).execute(
            sa.select(events).order_by(events.c.id))
        for part in result.partitions():
            ev_rows: list[dict[str, Any]] = []
            ix_rows: list[dict[str, Any]] = []
            for r in part:
                ev_rows.append({
                    "message_id": r.message_id, "type": r.type, "event": r.event,
                    "name": r.name, "profile_id": r.profile_id, "user_id": r.user_id,
                    "anonymous_id": r.anonymous_id, "device_id": r.device_id,
                    "platform": r.platform, "timestamp": r.timestamp,
                    "received_at": r.received_at,
                    "context": _dump(personal.reveal_context(r.context)),
                    "properties": _dump(r.properties),
                    "traits": _dump(personal.reveal_traits(r.traits)),
                })
                if r.type == "track":
                    ix_rows.extend(interaction_rows(r))
            ev_out.write(ev_rows)
            ix_out.write(ix_rows)
            done += len(ev_rows)
            if on_progress:
                on_progress(done)
        for w in (ev_out, ix_out):
            w.close()
            counts[w.path.stem] = w.rows

        def simple(name: str, query: sa.Select[Any], convert: Callable[[Any], dict[str, Any]]
                   ) -> None:
            w = _Writer(folder, name)
            for part in conn.execution_options(yield_per=chunk).execute(query).partitions():
                w.write([convert(r) for r in part])
            w.close()
            counts[name] = w.rows

        simple("profiles", sa.select(profiles).where(profiles.c.merged_into.is_(None)),
               lambda r: {"profile_id": r.profile_id, "user_id": r.user_id,
                          "traits": _dump(personal.reveal_traits(r.traits)),
                          "first_seen": r.first_seen, "last_seen": r.last_seen,
                          "created_at": r.created_at})
        simple("identities", sa.select(identities),
               lambda r: {"kind": r.kind, "value": personal.reveal_identity(r.kind, r.value),
                          "profile_id": r.profile_id, "first_seen": r.first_seen,
                          "linked_at": r.linked_at})
        simple("items", sa.select(items),
               lambda r: {**{c: getattr(r, c) for c in (
                   "item_id", "title", "description", "category", "brand", "price", "currency",
                   "tags", "image_url", "available", "updated_at")},
                   "attributes": _dump(r.attributes)})
        src_id, dst_id = identities.alias("s"), identities.alias("d")
        edge_query = (
            sa.select(edges, src_id.c.profile_id.label("src_profile"),
                      dst_id.c.profile_id.label("dst_profile"))
            .outerjoin(src_id, sa.and_(src_id.c.kind == "user_id", src_id.c.value == edges.c.src))
            .outerjoin(dst_id, sa.and_(dst_id.c.kind == "user_id", dst_id.c.value == edges.c.dst))
        )
        simple("edges", edge_query, lambda r: {
            "src": r.src, "dst": r.dst, "src_profile": r.src_profile,
            "dst_profile": r.dst_profile, "kind": r.kind, "weight": r.weight})
        member = sa.func.coalesce(profiles.c.merged_into, segment_membership.c.profile_id)
        simple("segment_members", sa.select(member.label("profile_id"),
                                             segment_membership.c.segment).distinct()
               .select_from(segment_membership.outerjoin(
                   profiles, profiles.c.profile_id == segment_membership.c.profile_id))
               .where(segment_membership.c.left_at.is_(None)),
               lambda r: {"profile_id": r.profile_id, "segment": r.segment})
        conn.rollback()
    manifest = {"created_at": datetime.now(UTC).isoformat(), "store": store.url,
                "backend": store.backend, "tables": counts, "format": "parquet",
                "version": 1}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
