"""Segment membership in the store, with history: who entered a segment when, who left when.

A stay in a segment is one row of ``segment_membership``; an open row (no ``left_at``) is a
current member. Recording a segment's new member set opens rows for those newly in and closes
the rows of those no longer in, in one transaction, so the history of every person reads as
"entered at, left at". Members are canonical profile ids: an id merged into another person
stands for that person, and a member merged away later counts as the person it joined.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tailored.errors import InvalidInput, NotFound
from tailored.store import Store
from tailored.store.tables import profiles, segment_membership
from tailored.store.tables import segments as segments_table

__all__ = [
    "current_members",
    "ensure_segment",
    "overlaps",
    "profile_segments",
    "record_membership",
    "require_segment",
    "segment_sizes",
    "set_member",
]

_BATCH = 900  # under SQLite's limit of parameters in one statement
_NAME_MAX = 128


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > _NAME_MAX:
        raise InvalidInput(f"a segment name is 1 to {_NAME_MAX} characters, got {name!r}",
                           field="segment")


def _canonical(conn: sa.Connection, ids: Sequence[str]) -> dict[str, str]:
    """Each known profile id → the canonical profile it is (or was merged into)."""
    out: dict[str, str] = {}
    for i in range(0, len(ids), _BATCH):
        rows = conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                            .where(profiles.c.profile_id.in_(ids[i:i + _BATCH])))
        out.update((pid, into or pid) for pid, into in rows)
    return out


def ensure_segment(conn: sa.Connection, name: str, kind: str, *, now: datetime,
                   definition: Any = None, description: str | None = None,
                   replace_definition: bool = False) -> None:
    """Create the segment's row, or (with ``replace_definition``) update its definition."""
    _check_name(name)
    exists = conn.scalar(sa.select(segments_table.c.kind).where(segments_table.c.name == name))
    if exists is None:
        conn.execute(segments_table.insert().values(
            name=name, kind=kind, definition=definition, description=description,
            created_at=now, updated_at=now))
    elif replace_definition:
        conn.execute(segments_table.update().where(segments_table.c.name == name).values(
            kind=kind, definition=definition, description=description, updated_at=now))


def record_membership(store: Store, segment: str, members: Iterable[str], *,
                      at: datetime | None = None, kind: str = "rule") -> dict[str, Any]:
    """Make ``members`` the segment's current member set, as of ``at`` (default now).

    Profiles newly in get an "entered" row; profiles no longer in get theirs closed. Unknown
    profile ids are refused (naming a few), nothing written. Returns the segment, its size and
    how many entered and left.
    """
    _check_name(segment)
    at = at or datetime.now(UTC)
    wanted = sorted({str(m) for m in members})
    with store.transaction() as conn:
        canonical = _canonical(conn, wanted)
        unknown = [m for m in wanted if m not in canonical]
        if unknown:
            raise InvalidInput(f"{len(unknown)} member(s) are not profiles of this store, e.g. "
                               f"{', '.join(map(repr, unknown[:5]))}", field="members")
        new = set(canonical.values())
        ensure_segment(conn, segment, kind, now=at)
        open_rows = conn.execute(
            sa.select(segment_membership.c.id, segment_membership.c.profile_id).where(
                segment_membership.c.segment == segment,
                segment_membership.c.left_at.is_(None))).all()
        # A stay recorded under an id since merged away continues as the person it joined.
        stayed = _canonical(conn, sorted({pid for _, pid in open_rows}))
        current = {stayed.get(pid, pid) for _, pid in open_rows}
        leaving = [row_id for row_id, pid in open_rows if stayed.get(pid, pid) not in new]
        entering = sorted(new - current)
        for i in range(0, len(leaving), _BATCH):
            conn.execute(segment_membership.update()
                         .where(segment_membership.c.id.in_(leaving[i:i + _BATCH]))
                         .values(left_at=at))
        if entering:
            conn.execute(segment_membership.insert(), [
                {"segment": segment, "profile_id": pid, "entered_at": at, "left_at": None}
                for pid in entering])
        conn.execute(segments_table.update().where(segments_table.c.name == segment)
                     .values(computed_at=at))
    return {"segment": segment, "size": len(new), "entered": len(entering),
            "left": len(leaving)}


def require_segment(conn: sa.Connection, segment: str) -> None:
    """Raise NotFound, naming close segment names, unless ``segment`` exists."""
    name = segments_table.c.name
    if conn.scalar(sa.select(name).where(name == segment)) is None:
        names = list(conn.scalars(sa.select(segments_table.c.name)))
        close = difflib.get_close_matches(segment, names, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise NotFound(f"no segment {segment!r}{hint}")


def _current(segment_names: Sequence[str] | None = None) -> sa.Select[Any]:
    """Open membership rows as (segment, canonical profile id), de-duplicated."""
    canonical = sa.func.coalesce(profiles.c.merged_into, segment_membership.c.profile_id)
    query = (sa.select(segment_membership.c.segment, canonical.label("profile_id"))
             .select_from(segment_membership.outerjoin(
                 profiles, profiles.c.profile_id == segment_membership.c.profile_id))
             .where(segment_membership.c.left_at.is_(None)).distinct())
    if segment_names is not None:
        query = query.where(segment_membership.c.segment.in_(list(segment_names)))
    return query


def current_members(store: Store, segment: str) -> list[str]:
    """The segment's current members (canonical profile ids), sorted."""
    with store.reading() as conn:
        require_segment(conn, segment)
        rows = conn.execute(_current([segment])).all()
    return sorted({pid for _, pid in rows})


def profile_segments(store: Store, profile_id: str) -> list[dict[str, Any]]:
    """A person's segment history (any of their ids): every stay, oldest first, with
    ``entered_at``, ``left_at`` (None while still in) and ``current``."""
    with store.reading() as conn:
        pid = store.find_profile(profile_id, conn)
        ids = [pid, *conn.scalars(sa.select(profiles.c.profile_id)
                                  .where(profiles.c.merged_into == pid))]
        rows = conn.execute(
            sa.select(segment_membership.c.segment, segment_membership.c.entered_at,
                      segment_membership.c.left_at)
            .where(segment_membership.c.profile_id.in_(ids))
            .order_by(segment_membership.c.entered_at, segment_membership.c.segment)).all()
    return [{"segment": s, "entered_at": e, "left_at": left, "current": left is None}
            for s, e, left in rows]


def segment_sizes(store: Store, segments: Sequence[str] | None = None) -> dict[str, int]:
    """The current size of every segment (or of ``segments``), 0 for an empty one."""
    with store.reading() as conn:
        names = sa.select(segments_table.c.name).order_by(segments_table.c.name)
        if segments is not None:
            names = names.where(segments_table.c.name.in_(list(segments)))
        sizes = dict.fromkeys(conn.scalars(names), 0)
        current = _current(None if segments is None else list(segments)).subquery()
        for name, n in conn.execute(sa.select(current.c.segment, sa.func.count())
                                    .group_by(current.c.segment)):
            sizes[name] = int(n)
    return sizes


def overlaps(store: Store, segments: Sequence[str] | None = None) -> dict[str, Any]:
    """How the segments' current members overlap, pair by pair: both, and the Jaccard index.

    ``segments`` defaults to every segment."""
    with store.reading() as conn:
        names = list(segments) if segments is not None else list(conn.scalars(
            sa.select(segments_table.c.name).order_by(segments_table.c.name)))
        for name in names:
            require_segment(conn, name)
        a, b = _current(names).subquery("a"), _current(names).subquery("b")
        both = {(x, y): int(n) for x, y, n in conn.execute(
            sa.select(a.c.segment, b.c.segment, sa.func.count())
            .select_from(a.join(b, a.c.profile_id == b.c.profile_id))
            .where(a.c.segment != b.c.segment).group_by(a.c.segment, b.c.segment))}
        cur = _current(names).subquery()
        sizes = dict.fromkeys(names, 0)
        for name, n in conn.execute(sa.select(cur.c.segment, sa.func.count())
                                    .group_by(cur.c.segment)):
            sizes[name] = int(n)
    pairs = []
    ordered = sorted(names)
    for i, x in enumerate(ordered):
        for y in ordered[i + 1:]:
            n = both.get((x, y), 0)
            union = sizes[x] + sizes[y] - n
            pairs.append({"a": x, "b": y, "both": n,
                          "jaccard": round(n / union, 4) if union else 0.0})
    return {"segments": names, "sizes": sizes, "pairs": pairs}


def set_member(store: Store, segment: str, profile_id: str, member: bool, *,
               at: datetime | None = None, kind: str = "rule") -> dict[str, Any]:
    """Record one person's membership (the one-person recomputation): they enter if newly
    in, their stay is closed if no longer in; nothing changes otherwise."""
    at = at or datetime.now(UTC)
    with store.transaction() as conn:
        pid = store.find_profile(profile_id, conn)
        ids = [pid, *conn.scalars(sa.select(profiles.c.profile_id)
                                  .where(profiles.c.merged_into == pid))]
        ensure_segment(conn, segment, kind, now=at)
        open_rows = list(conn.scalars(sa.select(segment_membership.c.id).where(
            segment_membership.c.segment == segment, segment_membership.c.left_at.is_(None),
            segment_membership.c.profile_id.in_(ids))))
        was = bool(open_rows)
        if member and not was:
            conn.execute(segment_membership.insert().values(
                segment=segment, profile_id=pid, entered_at=at, left_at=None))
        elif not member and was:
            conn.execute(segment_membership.update().where(
                segment_membership.c.id.in_(open_rows)).values(left_at=at))
    change = "entered" if member and not was else "left" if was and not member else None
    return {"segment": segment, "profile_id": pid, "member": member, "was_member": was,
            "change": change}
