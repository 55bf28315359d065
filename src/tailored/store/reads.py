"""Read queries behind the store's views of people and its statistics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tailored.store.personal import PersonalData
from tailored.store.tables import (
    duplicates,
    edges,
    events,
    identities,
    items,
    merges,
    profiles,
)

__all__ = ["busiest_profiles", "merge_history", "profile_view", "stats"]

_KIND_ORDER = {"user_id": 0, "email": 1, "device_id": 2, "anonymous_id": 3}


def _identities(conn: sa.Connection, pids: list[str], personal: PersonalData
                ) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {pid: [] for pid in pids}
    rows = conn.execute(sa.select(identities.c.profile_id, identities.c.kind, identities.c.value)
                        .where(identities.c.profile_id.in_(pids)))
    for r in rows:
        out[r.profile_id].append(
            {"kind": r.kind, "value": personal.reveal_identity(r.kind, r.value)})
    for ids in out.values():
        ids.sort(key=lambda i: (_KIND_ORDER.get(i["kind"], 9), i["value"]))
    return out


def profile_view(conn: sa.Connection, pid: str, personal: PersonalData) -> dict[str, Any]:
    p = conn.execute(sa.select(profiles).where(profiles.c.profile_id == pid)).one()
    device_rows = conn.execute(
        sa.select(events.c.device_id, events.c.platform, sa.func.count().label("n"),
                  sa.func.max(events.c.timestamp).label("last"))
        .where(events.c.profile_id == pid, events.c.device_id.is_not(None))
        .group_by(events.c.device_id, events.c.platform)
        .order_by(sa.desc("last"))
    ).all()
    platform_rows = conn.execute(
        sa.select(events.c.platform, sa.func.count().label("n"))
        .where(events.c.profile_id == pid).group_by(events.c.platform)
        .order_by(sa.desc("n"))
    ).all()
    merged_from = list(conn.scalars(sa.select(profiles.c.profile_id)
                                    .where(profiles.c.merged_into == pid)
                                    .order_by(profiles.c.profile_id)))
    return {
        "profile_id": pid,
        "user_id": p.user_id,
        "identities": _identities(conn, [pid], personal)[pid],
        "devices": [{"device_id": r.device_id, "platform": r.platform, "events": r.n,
                     "last_seen": r.last.isoformat()} for r in device_rows],
        "platforms": [r.platform for r in platform_rows],
        "traits": personal.reveal_traits(p.traits),
        "event_count": sum(r.n for r in platform_rows),
        "first_seen": p.first_seen.isoformat() if p.first_seen else None,
        "last_seen": p.last_seen.isoformat() if p.last_seen else None,
        "merged_from": merged_from,
    }


def busiest_profiles(conn: sa.Connection, limit: int, personal: PersonalData
                     ) -> list[dict[str, Any]]:
    n = sa.func.count().label("n")
    rows = conn.execute(sa.select(events.c.profile_id, n).group_by(events.c.profile_id)
                        .order_by(n.desc(), events.c.profile_id).limit(limit)).all()
    pids = [r.profile_id for r in rows]
    ids = _identities(conn, pids, personal)
    user_ids = dict(conn.execute(sa.select(profiles.c.profile_id, profiles.c.user_id)
                                 .where(profiles.c.profile_id.in_(pids))).all())
    return [{"profile_id": r.profile_id, "user_id": user_ids.get(r.profile_id),
             "identities": ids[r.profile_id], "event_count": r.n} for r in rows]


def merge_history(conn: sa.Connection, pid: str, personal: PersonalData
                  ) -> list[dict[str, Any]]:
    pids = [pid, *conn.scalars(sa.select(profiles.c.profile_id)
                               .where(profiles.c.merged_into == pid))]
    rows = conn.execute(sa.select(merges).where(sa.or_(
        merges.c.into_profile.in_(pids), merges.c.from_profile.in_(pids)))
        .order_by(merges.c.event_time, merges.c.id))
    return [{
        "kind": r.kind, "from_profile": r.from_profile, "into_profile": r.into_profile,
        "identity": {"kind": r.identity_kind,
                     "value": personal.reveal_identity(r.identity_kind, r.identity_value)},
        "cause": r.cause, "message_id": r.message_id, "event_time": r.event_time.isoformat(),
    } for r in rows]


def stats(conn: sa.Connection) -> dict[str, Any]:
    def count(table: sa.Table, *where: Any) -> int:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)

    label = sa.case((events.c.type == "track", events.c.event), else_=events.c.type)
    by_type = {k: int(v) for k, v in conn.execute(
        sa.select(label.label("k"), sa.func.count()).group_by(label).order_by(label))}
    by_platform = {k: int(v) for k, v in conn.execute(
        sa.select(events.c.platform, sa.func.count()).group_by(events.c.platform)
        .order_by(events.c.platform))}
    by_segment_type = {k: int(v) for k, v in conn.execute(
        sa.select(events.c.type, sa.func.count()).group_by(events.c.type)
        .order_by(events.c.type))}
    return {
        "events": sum(by_type.values()),
        "events_by_type": by_type,
        "events_by_call": by_segment_type,
        "events_by_platform": by_platform,
        "duplicates": int(conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(duplicates.c.count), 0))) or 0),
        "profiles": count(profiles, profiles.c.merged_into.is_(None)),
        "identified_profiles": count(profiles, profiles.c.merged_into.is_(None),
                                     profiles.c.user_id.is_not(None)),
        "identities": count(identities),
        "merges": count(merges, merges.c.kind == "merge"),
        "relinks": count(merges, merges.c.kind == "relink"),
        "items": count(items),
        "edges": count(edges),
    }
