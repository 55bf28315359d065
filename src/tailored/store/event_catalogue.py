"""The event catalogue: every event name the store holds, where it comes from and what it
carries — the first thing to check after pointing an SDK at the server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.store.tables import events

if TYPE_CHECKING:
    from tailored.store.store import Store

__all__ = ["JSON_TYPES", "event_catalogue"]

#: The JSON types a property value is reported as.
JSON_TYPES = ("string", "number", "boolean", "null", "object", "array")
# SQLite's json_each().type and PostgreSQL's jsonb_typeof() in JSON's own words.
_SQLITE_TYPES = {"text": "string", "integer": "number", "real": "number", "true": "boolean",
                 "false": "boolean", "null": "null", "object": "object", "array": "array"}

# Track events go by their event name; the other calls (page, screen, identify, ...) by
# their type, as `tailored stats` counts them.
_NAME = "CASE WHEN e.type = 'track' THEN e.event ELSE e.type END"
_PROPERTIES = {
    "sqlite": f"""SELECT {_NAME} AS name, j.key AS key, j.type AS kind, count(*) AS n
        FROM events AS e, json_each(e.properties) AS j
        WHERE json_type(e.properties) = 'object'
        GROUP BY 1, 2, 3""",
    "postgresql": f"""SELECT {_NAME} AS name, j.key AS key, jsonb_typeof(j.value) AS kind,
               count(*) AS n
        FROM events AS e, jsonb_each(e.properties) AS j
        WHERE jsonb_typeof(e.properties) = 'object'
        GROUP BY 1, 2, 3""",
}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps UTC text
        value = datetime.fromisoformat(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


def event_catalogue(store: Store) -> dict[str, Any]:
    """Every event name with its count, platforms, first and last time seen, and each
    property seen on it with how many events carried it as each JSON type.

    Returns ``{"events": [...], "names": N, "total": M}``, the busiest name first; each
    entry is ``{"event", "type", "count", "platforms": {platform: n}, "first_seen",
    "last_seen", "properties": {name: {"events": n, "types": {type: n}}}}``.
    """
    name = sa.case((events.c.type == "track", events.c.event), else_=events.c.type)
    by_platform = (sa.select(name.label("name"), events.c.type, events.c.platform,
                             sa.func.count().label("n"),
                             sa.func.min(events.c.timestamp).label("first"),
                             sa.func.max(events.c.timestamp).label("last"))
                   .group_by(name, events.c.type, events.c.platform))
    entries: dict[str, dict[str, Any]] = {}
    with store.reading() as conn:
        for r in conn.execute(by_platform):
            first, last = _iso(r.first), _iso(r.last)
            entry = entries.setdefault(r.name, {
                "event": r.name, "type": r.type, "count": 0, "platforms": {},
                "first_seen": first, "last_seen": last, "properties": {}})
            entry["count"] += int(r.n)
            platform = r.platform or "unknown"
            entry["platforms"][platform] = entry["platforms"].get(platform, 0) + int(r.n)
            entry["first_seen"] = min(entry["first_seen"], first)
            entry["last_seen"] = max(entry["last_seen"], last)
        dialect = conn.dialect.name
        rows = conn.exec_driver_sql(_PROPERTIES[dialect]).all()
    for event, key, kind, n in rows:
        if event not in entries:
            continue
        kind = _SQLITE_TYPES.get(kind, kind) if dialect == "sqlite" else kind
        prop = entries[event]["properties"].setdefault(key, {"events": 0, "types": {}})
        prop["events"] += int(n)
        prop["types"][kind] = prop["types"].get(kind, 0) + int(n)
    out = sorted(entries.values(), key=lambda e: (-e["count"], e["event"]))
    for e in out:
        e["platforms"] = dict(sorted(e["platforms"].items(), key=lambda kv: (-kv[1], kv[0])))
        e["properties"] = {
            k: {"events": p["events"], "types": dict(sorted(
                p["types"].items(), key=lambda kv: (-kv[1], JSON_TYPES.index(kv[0])
                                                    if kv[0] in JSON_TYPES else 99)))}
            for k, p in sorted(e["properties"].items(), key=lambda kv: (-kv[1]["events"],
                                                                         kv[0]))}
    return {"events": out, "names": len(out), "total": sum(e["count"] for e in out)}
