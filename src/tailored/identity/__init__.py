"""Identity stitching: one profile per person across devices and platforms."""

from tailored.identity.graph import (
    HistoryMove,
    IdentityGraph,
    MergeRecord,
    Node,
    NodeState,
    ProfileState,
    event_nodes,
)
from tailored.identity.times import parse_trait_time, trait_time_text

__all__ = [
    "HistoryMove",
    "IdentityGraph",
    "MergeRecord",
    "Node",
    "NodeState",
    "ProfileState",
    "event_nodes",
    "parse_trait_time",
    "trait_time_text",
]
