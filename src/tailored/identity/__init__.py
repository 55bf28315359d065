"""Identity stitching: one profile per person across devices and platforms."""

from tailored.identity.graph import (
    IdentityGraph,
    MergeRecord,
    Node,
    NodeState,
    ProfileState,
    event_nodes,
)

__all__ = ["IdentityGraph", "MergeRecord", "Node", "NodeState", "ProfileState", "event_nodes"]
