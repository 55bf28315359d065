"""The side tables of a snapshot, one Parquet file each: profiles, identities, items, edges
and current segment members. Each is rewritten whole, and only when its fingerprint in the
store moved (see :mod:`tailored.store.snapshot_state`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from tailored.store.personal import PersonalData
from tailored.store.snapshot_schema import SCHEMAS
from tailored.store.tables import edges, identities, items, profiles, segment_membership

__all__ = ["SIDE_TABLES", "write_side_table"]

SIDE_TABLES = ("profiles", "identities", "items", "edges", "segment_members")


def _dump(doc: Any) -> str:
    return orjson.dumps(doc, default=str).decode()


def _query(name: str) -> sa.Select[Any]:
    if name == "profiles":
        return sa.select(profiles).where(profiles.c.merged_into.is_(None))
    if name == "identities":
        return sa.select(identities)
    if name == "items":
        return sa.select(items)
    if name == "edges":
        src, dst = identities.alias("s"), identities.alias("d")
        return (sa.select(edges, src.c.profile_id.label("src_profile"),
                          dst.c.profile_id.label("dst_profile"))
                .outerjoin(src, sa.and_(src.c.kind == "user_id", src.c.value == edges.c.src))
                .outerjoin(dst, sa.and_(dst.c.kind == "user_id", dst.c.value == edges.c.dst)))
    # Current segment members under their canonical profile ids.
    member = sa.func.coalesce(profiles.c.merged_into, segment_membership.c.profile_id)
    return (sa.select(member.label("profile_id"), segment_membership.c.segment).distinct()
            .select_from(segment_membership.outerjoin(
                profiles, profiles.c.profile_id == segment_membership.c.profile_id))
            .where(segment_membership.c.left_at.is_(None)))


def _converter(name: str, personal: PersonalData) -> Callable[[Any], dict[str, Any]]:
    if name == "profiles":
        return lambda r: {"profile_id": r.profile_id, "user_id": r.user_id,
                          "traits": _dump(personal.reveal_traits(r.traits)),
                          "first_seen": r.first_seen, "last_seen": r.last_seen,
                          "created_at": r.created_at}
    if name == "identities":
        return lambda r: {"kind": r.kind, "value": personal.reveal_identity(r.kind, r.value),
                          "profile_id": r.profile_id, "first_seen": r.first_seen,
                          "linked_at": r.linked_at}
    if name == "items":
        return lambda r: {**{c: getattr(r, c) for c in (
            "item_id", "title", "description", "category", "brand", "price", "currency",
            "tags", "image_url", "available", "updated_at")},
            "attributes": _dump(r.attributes)}
    if name == "edges":
        return lambda r: {"src": r.src, "dst": r.dst, "src_profile": r.src_profile,
                          "dst_profile": r.dst_profile, "kind": r.kind, "weight": r.weight}
    return lambda r: {"profile_id": r.profile_id, "segment": r.segment}


def write_side_table(conn: sa.Connection, folder: Path, name: str, personal: PersonalData,
                     *, chunk: int = 50_000) -> int:
    """Rewrite ``name``.parquet from the store (the new file replaces the old at once);
    returns its rows."""
    path = Path(folder) / f"{name}.parquet"
    partial = path.with_suffix(".parquet.partial")
    convert = _converter(name, personal)
    schema = SCHEMAS[name]
    rows = 0
    with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
        for part in conn.execution_options(yield_per=chunk).execute(_query(name)).partitions():
            writer.write_table(pa.Table.from_pylist([convert(r) for r in part], schema=schema))
            rows += len(part)
    os.replace(partial, path)
    return rows
