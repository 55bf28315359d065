"""The person × item matrix every recommender learns from, built from a Parquet snapshot.

Each event type carries a weight (a view says less than an order; an explicit rating is its
own signal), optionally decayed with age, summed per person and item. Alongside the weights,
the strongest signal of each pair is kept, so a reason can say "because you bought X" rather
than "because of X".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.store.snapshot_files import read_snapshot_table, table_files

__all__ = ["DEFAULT_WEIGHTS", "SIGNAL_VERBS", "Interactions", "Weights"]

# Signals in order of strength: the index is the code kept per pair (0 = none).
SIGNALS = ("view", "click", "email_click", "wishlist", "share", "review", "rating", "cart",
           "checkout", "order")
SIGNAL_VERBS = {
    "view": "viewed", "click": "clicked on", "email_click": "clicked on", "wishlist":
    "saved", "share": "shared", "review": "reviewed", "rating": "rated", "cart":
    "added to your cart", "checkout": "nearly bought", "order": "bought", None: "liked",
}
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "view": 1.0, "click": 1.0, "email_click": 1.0, "wishlist": 2.0, "share": 2.0,
    "review": 3.0, "cart": 3.0, "checkout": 3.0, "order": 5.0,
    # Per star: a 5-star rating weighs 5, a 1-star rating 1.
    "rating": 1.0,
    # Events of names we do not know (e.g. "Artist Played" with a play count in `value`).
    "other": 1.0,
}


@dataclass(frozen=True)
class Weights:
    """How much each kind of event counts, and how fast it fades (``half_life_days``)."""

    per_signal: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    half_life_days: float | None = None
    # For unknown event names with a numeric `value` (play counts): log1p(value) × weight.
    use_value: bool = True

    def of(self, signal: str | None, rating: float | None = None,
           value: float | None = None, age_days: float = 0.0) -> float:
        """The weight of one interaction: what ``from_snapshot`` gives each row."""
        w = self.per_signal.get(signal if signal is not None else "other", 0.0)
        if signal == "rating":
            w *= rating or 0.0
        elif signal is None and self.use_value and value is not None:
            w *= float(np.log1p(max(value, 0.0)))
        if self.half_life_days is not None:
            w *= 0.5 ** (age_days / self.half_life_days)
        return w

    def __post_init__(self) -> None:
        unknown = set(self.per_signal) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise InvalidInput(f"weights: unknown signal(s) {sorted(unknown)}; known: "
                               f"{sorted(DEFAULT_WEIGHTS)}", field="weights")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise InvalidInput("half_life_days must be positive", field="half_life_days")


@dataclass
class Interactions:
    """A CSR matrix of weights (people × items) with the ids of its rows and columns.

    ``last_seen`` (optional, same pattern as ``matrix``) holds when each pair last happened,
    in seconds since the epoch plus one (so no stored time is zero): what orders a person's
    history from newest to oldest for models that weigh recent engagement more.
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    strongest: sp.csr_matrix  # int8 codes into SIGNALS (+1), same pattern as `matrix`
    last_seen: sp.csr_matrix | None = None

    def __post_init__(self) -> None:
        self.user_index = {u: i for i, u in enumerate(self.user_ids.tolist())}
        self.item_index = {t: i for i, t in enumerate(self.item_ids.tolist())}

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @classmethod
    def from_arrays(
        cls, users: Any, items: Any, weights: Any = None, signals: Any = None,
        item_ids: Any = None, timestamps: Any = None,
    ) -> Interactions:
        """From parallel arrays; repeated (user, item) pairs add up. ``timestamps``
        (datetime64 or seconds since the epoch) give each pair's latest time."""
        users = np.asarray(users, dtype=str)
        items = np.asarray(items, dtype=str)
        if len(users) == 0:
            raise InvalidInput("no interactions to learn from: the table is empty",
                               field="interactions")
        w = np.ones(len(users)) if weights is None else np.asarray(weights, dtype=np.float64)
        codes = (np.zeros(len(users), dtype=np.int8) if signals is None
                 else np.asarray(signals, dtype=np.int8))
        user_ids, u = np.unique(users, return_inverse=True)
        if item_ids is None:
            item_ids, i = np.unique(items, return_inverse=True)
        else:
            item_ids = np.asarray(item_ids, dtype=str)
            lookup = {t: n for n, t in enumerate(item_ids.tolist())}
            extra = sorted(set(items.tolist()) - set(lookup))
            if extra:
                item_ids = np.concatenate([item_ids, np.asarray(extra, dtype=str)])
                lookup.update({t: len(lookup) + n for n, t in enumerate(extra)})
            i = np.fromiter((lookup[t] for t in items.tolist()), dtype=np.int64,
                            count=len(items))
        shape = (len(user_ids), len(item_ids))
        matrix = sp.csr_matrix((w, (u, i)), shape=shape)
        matrix.sum_duplicates()
        # Keep the strongest code per pair (not the sum): max over duplicates.
        strongest = _max_per_pair(codes, u, i, shape).astype(np.int8)
        last_seen = None
        if timestamps is not None:
            seconds = _seconds(timestamps, len(users))
            last_seen = _max_per_pair(seconds + 1.0, u, i, shape)
        return cls(matrix=matrix.tocsr(), user_ids=user_ids, item_ids=item_ids,
                   strongest=strongest, last_seen=last_seen)

    @classmethod
    def from_snapshot(
        cls, folder: Path, weights: Weights | None = None, *, now: datetime | None = None,
    ) -> Interactions:
        """From a snapshot's interactions (and items.parquet for the full catalogue)."""
        weights = weights or Weights()
        if not table_files(folder, "interactions") and not (
                Path(folder) / "manifest.json").exists():
            raise InvalidInput(f"no interactions in {folder}: export a snapshot first",
                               field="snapshot")
        table = read_snapshot_table(folder, "interactions", columns=[
            "profile_id", "item_id", "signal", "timestamp", "rating", "value"])
        signal = table["signal"].to_numpy(zero_copy_only=False)
        known = {s: weights.per_signal.get(s, 0.0) for s in DEFAULT_WEIGHTS}
        w = np.array([known.get(s, 0.0) if s is not None else known["other"]
                      for s in signal.tolist()], dtype=np.float64)
        rating = table["rating"].to_numpy(zero_copy_only=False).astype(np.float64)
        is_rating = signal == "rating"
        w[is_rating] = w[is_rating] * np.nan_to_num(rating[is_rating], nan=0.0)
        if weights.use_value:
            value = table["value"].to_numpy(zero_copy_only=False).astype(np.float64)
            other = np.array([s is None for s in signal.tolist()]) & ~np.isnan(value)
            w[other] = w[other] * np.log1p(np.clip(value[other], 0, None))
        if weights.half_life_days is not None and len(w):
            ts = pc.cast(table["timestamp"], "int64").to_numpy() / 1e6  # µs → s
            ref = now.timestamp() if now else float(ts.max())
            w = w * np.power(0.5, (ref - ts) / 86400.0 / weights.half_life_days)
        code_of = {s: n + 1 for n, s in enumerate(SIGNALS)}
        codes = np.array([code_of.get(s, 0) for s in signal.tolist()], dtype=np.int8)
        keep = w > 0
        items_path = Path(folder) / "items.parquet"
        item_ids = (pq.read_table(items_path, columns=["item_id"])["item_id"].to_numpy(
            zero_copy_only=False) if items_path.exists() else None)
        seconds = pc.cast(table["timestamp"], "int64").to_numpy() / 1e6  # µs → s
        return cls.from_arrays(
            table["profile_id"].to_numpy(zero_copy_only=False)[keep],
            table["item_id"].to_numpy(zero_copy_only=False)[keep], w[keep], codes[keep],
            item_ids=item_ids, timestamps=seconds[keep])

    def take_pairs(self, keep: np.ndarray) -> Interactions:
        """The same people and items with only the stored pairs where ``keep`` is true
        (``keep`` runs over ``matrix.data`` in CSR order)."""
        x = self.matrix.tocsr()
        return Interactions(
            matrix=_aligned(x, x, keep, x.dtype), user_ids=self.user_ids,
            item_ids=self.item_ids,
            strongest=_aligned(self.strongest, x, keep, np.int8),
            last_seen=(None if self.last_seen is None
                       else _aligned(self.last_seen, x, keep, np.float64)))

    def signal_of(self, user: int, item: int) -> str | None:
        code = int(self.strongest[user, item])
        return SIGNALS[code - 1] if code > 0 else None


def _max_per_pair(values: np.ndarray, u: np.ndarray, i: np.ndarray,
                  shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix of the largest value per (row, column) pair."""
    coo = sp.coo_matrix((values, (u, i)), shape=shape)
    order = np.lexsort((coo.data, coo.col, coo.row))
    rows, cols, data = coo.row[order], coo.col[order], coo.data[order]
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sp.csr_matrix((data[last], (rows[last], cols[last])), shape=shape)


def _seconds(timestamps: Any, n: int) -> np.ndarray:
    ts = np.asarray(timestamps)
    if len(ts) != n:
        raise InvalidInput(f"timestamps: {len(ts)} values for {n} interactions",
                           field="timestamp")
    if np.issubdtype(ts.dtype, np.datetime64):
        if np.isnat(ts).any():
            raise InvalidInput("timestamps: missing times", field="timestamp")
        return ts.astype("datetime64[us]").astype(np.int64) / 1e6
    try:
        seconds = ts.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"timestamps: not times ({error})", field="timestamp") from None
    if not np.isfinite(seconds).all():
        raise InvalidInput("timestamps: missing or infinite times", field="timestamp")
    return seconds


def _aligned(m: sp.csr_matrix, pattern: sp.csr_matrix, keep: np.ndarray,
             dtype: Any) -> sp.csr_matrix:
    """``m``'s values at ``pattern``'s stored pairs where ``keep``, in ``pattern``'s order
    (``m`` may store fewer pairs, e.g. no code for a pair without a known signal)."""
    x = pattern.tocsr()
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))[keep]
    cols = x.indices[keep]
    values = np.asarray(m.tocsr()[rows, cols]).ravel().astype(dtype)
    return sp.csr_matrix((values, (rows, cols)), shape=x.shape)
