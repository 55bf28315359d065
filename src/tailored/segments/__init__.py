"""Segments: rules, lifecycle, RFM, clusters and classifiers; membership with history."""

from tailored.segments.clustering import BehaviourKMeans, ClusterResult, cluster_customers
from tailored.segments.rfm import RFM_GROUPS, RFMResult, compute_rfm, rfm_group, rfm_scores

__all__ = [
    "RFM_GROUPS",
    "BehaviourKMeans",
    "ClusterResult",
    "RFMResult",
    "cluster_customers",
    "compute_rfm",
    "rfm_group",
    "rfm_scores",
]
