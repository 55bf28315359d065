"""Who a campaign reaches, worked out when it is sent — never a list computed earlier.

A rule (a rule segment's, or one given inline) is evaluated over a snapshot brought up to
date with the store first, in one query; a segment made by a model (clusters, classifiers)
has no rule, and its current members are the model's latest verdicts. For a trigger, one
person is checked in process from the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.segments.conditions import Rule
from tailored.segments.definitions import RULE_KINDS, get_segment, segment_rule
from tailored.segments.rules import parse_rule
from tailored.store.tables import segment_membership

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["audience_members", "audience_rule", "in_audience"]


def audience_rule(store: Store, segment: str | None, rule: dict[str, Any] | None
                  ) -> Rule | None:
    """The rule that decides the audience; None for a segment made by a model."""
    if rule is not None:
        return parse_rule(rule)
    assert segment is not None
    row = get_segment(store, segment)
    if row["definition"] is None or row["kind"] not in RULE_KINDS:
        return None
    return segment_rule(store, segment, segment=row)


def _model_members(store: Store, segment: str) -> list[str]:
    with store.reading() as conn:
        return sorted(set(conn.scalars(
            sa.select(segment_membership.c.profile_id)
            .where(segment_membership.c.segment == segment,
                   segment_membership.c.left_at.is_(None)))))


def audience_members(store: Store, settings: Settings, *, segment: str | None = None,
                     rule: dict[str, Any] | None = None) -> list[str]:
    """The profile ids in the audience now, sorted."""
    from tailored.analytics.source import opened
    from tailored.segments.compile import members_query
    from tailored.store.snapshot_files import snapshot_lock
    from tailored.store.snapshots import export_snapshot

    parsed = audience_rule(store, segment, rule)
    if parsed is None:
        assert segment is not None
        return _model_members(store, segment)
    folder = settings.store_snapshot_dir()
    export_snapshot(store, folder)
    # Every event up to now counts (as_of: the clock, not the latest event, so a "within 7
    # days" condition means the last 7 days of the calendar).
    with snapshot_lock(folder, exclusive=False), opened(folder, "duckdb") as source:
        frame = members_query(parsed, source, as_of=datetime.now(UTC)).execute()
    return sorted(str(p) for p in frame["profile_id"])


def in_audience(store: Store, profile_id: str, *, segment: str | None = None,
                rule: dict[str, Any] | None = None) -> bool:
    """Whether one person is in the audience now (a trigger's check), from the store."""
    from tailored.segments.person import evaluate
    from tailored.segments.person_data import load_person

    parsed = audience_rule(store, segment, rule)
    if parsed is None:
        assert segment is not None
        return profile_id in _model_members(store, segment)
    now = datetime.now(UTC)
    _, view = load_person(store, profile_id, as_of=now, inclusive=True)
    return evaluate(parsed, view, as_of=now, inclusive=True)
