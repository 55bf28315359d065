"""Offline evaluation: splitting protocols and metrics, as the published tables use them.

Splits cut an :class:`InteractionTable` (or a pair of split files) into what a model learns
from and what it is scored on; metrics score ranked lists against held-out items with the
definitions of Microsoft Recommenders.
"""

from tailored.evaluate.beyond_accuracy import catalog_coverage, intra_list_diversity, novelty
from tailored.evaluate.metrics import (
    evaluate_ranking,
    f1_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from tailored.evaluate.rating_errors import mae, rmse
from tailored.evaluate.splits import (
    leave_last_n_split,
    leave_one_out_split,
    per_user_random_split,
    random_split,
    temporal_split,
    validation_split,
)
from tailored.evaluate.strong_generalization import (
    StrongGeneralizationSplit,
    strong_generalization_split,
)
from tailored.evaluate.table import InteractionTable, Split, read_split_file

__all__ = [
    "InteractionTable",
    "Split",
    "StrongGeneralizationSplit",
    "catalog_coverage",
    "evaluate_ranking",
    "f1_at_k",
    "hit_rate_at_k",
    "intra_list_diversity",
    "leave_last_n_split",
    "leave_one_out_split",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "per_user_random_split",
    "precision_at_k",
    "random_split",
    "read_split_file",
    "recall_at_k",
    "rmse",
    "strong_generalization_split",
    "temporal_split",
    "validation_split",
]
