"""Segment-model results written back to the store, where campaigns, rule segments and
recommendations read them: each group or cluster becomes a segment with membership history,
and each customer's group a profile trait."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tailored.segments.membership import record_membership, segment_sizes
from tailored.store.traits import write_traits

if TYPE_CHECKING:
    from tailored.segments.clustering import ClusterResult
    from tailored.segments.rfm import RFMResult
    from tailored.store import Store

__all__ = ["RFM_PREFIX", "save_clusters", "save_rfm"]

RFM_PREFIX = "rfm:"


def save_rfm(store: Store, result: RFMResult, *, at: datetime | None = None) -> dict[str, Any]:
    """Record every RFM group as segment ``rfm:<group>`` (an empty group empties its
    segment) and set the trait ``rfm_group`` (plus ``rfm_score``, e.g. "545") on each buyer."""
    at = at or datetime.now(UTC)
    df = result.customers
    # Traits first: they are refused whole for an unknown profile, before any segment moves.
    updates = {str(row.profile_id): {"rfm_group": str(row.group),
                                     "rfm_score": f"{row.r_score}{row.f_score}{row.m_score}"}
               for row in df.itertuples(index=False)}
    changed = write_traits(store, updates, at=at)
    segments = {f"{RFM_PREFIX}{group}": record_membership(
        store, f"{RFM_PREFIX}{group}", members, at=at, kind="rfm")
        for group, members in result.members().items()}
    return {"traits_written": changed, "segments": segments}


def save_clusters(store: Store, result: ClusterResult, *, prefix: str = "cluster:",
                  at: datetime | None = None) -> dict[str, Any]:
    """Record each cluster as segment ``<prefix><n>`` and set the trait ``cluster``."""
    at = at or datetime.now(UTC)
    updates = {str(pid): {"cluster": int(c)} for pid, c in result.labels.items()}
    changed = write_traits(store, updates, at=at)
    segments = {}
    for name, members in result.members().items():
        segment = prefix + name.removeprefix("cluster-")
        segments[segment] = record_membership(store, segment, members, at=at, kind="cluster")
    # A cluster of an earlier run with a larger k has no one now.
    for stale in sorted(set(segment_sizes(store)) - set(segments)):
        if stale.startswith(prefix):
            segments[stale] = record_membership(store, stale, [], at=at, kind="cluster")
    return {"traits_written": changed, "segments": segments}
