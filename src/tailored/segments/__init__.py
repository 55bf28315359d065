"""Segments: rules, lifecycle, RFM, clusters and classifiers; membership with history; live
segments kept current by the real-time worker."""

from tailored.segments.classifiers import SegmentLogistic, SegmentTree
from tailored.segments.clustering import BehaviourKMeans, ClusterResult, cluster_customers
from tailored.segments.compile import evaluation_query, members_query
from tailored.segments.compute import check_person, compute_rules, compute_segments
from tailored.segments.conditions import Rule
from tailored.segments.definitions import define_segment, get_segment, list_segments
from tailored.segments.learning import LearnResult, learn_segment
from tailored.segments.lifecycle import LIFECYCLE_SEGMENTS, compute_lifecycle, lifecycle_rules
from tailored.segments.live import due_people, refresh_people, set_live
from tailored.segments.membership import (
    current_members,
    overlaps,
    profile_segments,
    record_membership,
    segment_sizes,
)
from tailored.segments.person import PersonEvent, PersonView, evaluate
from tailored.segments.person_data import load_person, person_metrics
from tailored.segments.rfm import RFM_GROUPS, RFMResult, compute_rfm, rfm_group, rfm_scores
from tailored.segments.rules import load_rule_document, parse_rule
from tailored.segments.writeback import save_clusters, save_rfm

__all__ = [
    "LIFECYCLE_SEGMENTS",
    "RFM_GROUPS",
    "BehaviourKMeans",
    "ClusterResult",
    "LearnResult",
    "PersonEvent",
    "PersonView",
    "RFMResult",
    "Rule",
    "SegmentLogistic",
    "SegmentTree",
    "check_person",
    "cluster_customers",
    "compute_lifecycle",
    "compute_rfm",
    "compute_rules",
    "compute_segments",
    "current_members",
    "define_segment",
    "due_people",
    "evaluate",
    "evaluation_query",
    "get_segment",
    "learn_segment",
    "lifecycle_rules",
    "list_segments",
    "load_person",
    "load_rule_document",
    "members_query",
    "overlaps",
    "parse_rule",
    "person_metrics",
    "profile_segments",
    "record_membership",
    "refresh_people",
    "rfm_group",
    "rfm_scores",
    "save_clusters",
    "save_rfm",
    "segment_sizes",
    "set_live",
]
