"""What recommenders need to know of the catalogue: titles for reasons, fields for filters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

__all__ = ["CatalogView"]


@dataclass
class CatalogView:
    """Item fields aligned with a model's item index (missing items: no title, available)."""

    titles: np.ndarray
    available: np.ndarray
    categories: np.ndarray  # the full path as "A > B > C" ("" when unknown)
    brands: np.ndarray
    prices: np.ndarray  # NaN when unknown

    @classmethod
    def empty(cls, n: int) -> CatalogView:
        return cls(np.full(n, "", dtype=object), np.ones(n, dtype=bool),
                   np.full(n, "", dtype=object), np.full(n, "", dtype=object),
                   np.full(n, np.nan))

    @classmethod
    def from_snapshot(cls, folder: Path, item_ids: np.ndarray) -> CatalogView:
        view = cls.empty(len(item_ids))
        path = Path(folder) / "items.parquet"
        if not path.exists():
            return view
        table = pq.read_table(path, columns=["item_id", "title", "available", "category",
                                             "brand", "price"]).to_pylist()
        index = {t: n for n, t in enumerate(item_ids.tolist())}
        for row in table:
            n = index.get(row["item_id"])
            if n is None:
                continue
            view.titles[n] = row["title"] or ""
            view.available[n] = bool(row["available"])
            view.categories[n] = " > ".join(row["category"] or [])
            view.brands[n] = row["brand"] or ""
            view.prices[n] = np.nan if row["price"] is None else row["price"]
        return view

    def label(self, item: int, item_id: str) -> str:
        """How an item is named in a reason: its title, else its id."""
        title = self.titles[item]
        return f'"{title}"' if title else str(item_id)
