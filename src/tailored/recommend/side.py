"""What some recommenders learn from beside the interactions: item records and social ties.

One value, handed to any model with :meth:`Recommender.with_side` before ``fit``: the
content model reads the item records, the social model the ties, a hybrid or ``auto`` passes
it on to the models inside, and every other model ignores it. So training from the store,
``tailored evaluate`` and the benchmarks give side data one way, whatever the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

__all__ = ["ITEM_COLUMNS", "SideData"]

ITEM_COLUMNS = ("item_id", "title", "description", "tags", "category", "brand", "price")

Tie = tuple[str, str, str, float]  # person, tied-to, kind ("friend"/"follow"), weight


@dataclass(frozen=True)
class SideData:
    """Item records (``item_id`` and any of :data:`ITEM_COLUMNS`), social ties between
    people (as the model's user ids), and how to call those people in reasons."""

    items: tuple[Mapping[str, Any], ...] = ()
    ties: tuple[Tie, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, folder: Path) -> SideData:
        """The items and edges of a snapshot (either may be absent)."""
        folder = Path(folder)
        items: tuple[Mapping[str, Any], ...] = ()
        if (folder / "items.parquet").exists():
            items = tuple(pq.read_table(folder / "items.parquet",
                                        columns=list(ITEM_COLUMNS)).to_pylist())
        ties: tuple[Tie, ...] = ()
        names: dict[str, str] = {}
        if (folder / "edges.parquet").exists():
            rows = pq.read_table(folder / "edges.parquet").to_pylist()
            ties = tuple((r["src_profile"], r["dst_profile"], r["kind"], r["weight"])
                         for r in rows if r["src_profile"] and r["dst_profile"])
            names = {r["dst_profile"]: r["dst"] for r in rows if r["dst_profile"]}
        return cls(items=items, ties=ties, names=names)
