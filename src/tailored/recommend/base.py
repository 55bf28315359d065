"""One contract for every recommender: fit, recommend (each item with a reason), similar
items, a cheap update for a person with new events, save and load without pickle."""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput, NotFittedError
from tailored.recommend.catalog import CatalogView
from tailored.recommend.interactions import SIGNAL_VERBS, SIGNALS, Interactions
from tailored.recommend.side import SideData

__all__ = ["MAX_K", "Filters", "Recommendation", "Recommender"]

MAX_K = 1000
RATING_CODE = SIGNALS.index("rating") + 1


# Per list being made: which history items reasons have cited and how often, so one item
# does not explain a whole list; and which items the person rated below their own mean.
_REASONS: ContextVar[dict[str, Any] | None] = ContextVar("tailored_reasons", default=None)
# At most this many items of one list cite the same history item, when another will do.
REASON_CAP = 3
# The person ``similar_items`` scores for: no one's id (ids are never empty).
_NOBODY = ""


@dataclass(frozen=True, slots=True)
class Recommendation:
    item_id: str
    score: float
    reason: str
    # The history item the reason cites ("because you rated X"), when it cites one.
    because_item_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item_id": self.item_id, "score": round(float(self.score), 6),
                               "reason": self.reason}
        if self.because_item_id is not None:
            out["because_item_id"] = self.because_item_id
        return out


@dataclass(frozen=True)
class Filters:
    """Business rules applied to every list."""

    exclude_seen: bool = True
    available_only: bool = True
    categories: tuple[str, ...] = ()  # an item's category path starts with one of these
    brands: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    exclude: tuple[str, ...] = ()
    # Diversification: at most this many items of one category (full path) in a list, and/or
    # maximal marginal relevance: 0 = by score alone, 1 = as unlike each other as possible.
    max_per_category: int | None = None
    diversity: float = 0.0
    # Business rules: (item id, factor) multiplies a score; pinned items lead the list.
    boosts: tuple[tuple[str, float], ...] = ()
    pinned: tuple[str, ...] = ()

    def _steps(self, catalog: CatalogView, item_index: dict[str, int], n: int
               ) -> list[tuple[str, np.ndarray]]:
        """Each active rule, described, with the items it lets through."""
        steps: list[tuple[str, np.ndarray]] = []
        if self.available_only:
            steps.append(("available", catalog.available))
        if self.categories:
            steps.append((f"in category {' or '.join(self.categories)}", np.array(
                [any(str(c).startswith(p) for p in self.categories)
                 for c in catalog.categories], dtype=bool)))
        if self.brands:
            steps.append((f"of brand {' or '.join(self.brands)}",
                          np.isin(catalog.brands, list(self.brands))))
        if self.price_min is not None:
            steps.append((f"priced at least {self.price_min:g}",
                          np.nan_to_num(catalog.prices, nan=-np.inf) >= self.price_min))
        if self.price_max is not None:
            steps.append((f"priced at most {self.price_max:g}",
                          np.nan_to_num(catalog.prices, nan=np.inf) <= self.price_max))
        if self.exclude:
            keep = np.ones(n, dtype=bool)
            keep[[item_index[i] for i in self.exclude if i in item_index]] = False
            steps.append(("not excluded", keep))
        return steps

    def allowed(self, catalog: CatalogView, item_index: dict[str, int], n: int) -> np.ndarray:
        mask = np.ones(n, dtype=bool)
        for _, keep in self._steps(catalog, item_index, n):
            mask &= keep
        return mask

    def why_empty(self, catalog: CatalogView, item_index: dict[str, int], n: int,
                  seen: np.ndarray | None = None) -> str:
        """Why no item is left, in words: the first rule that leaves none, with how many
        items there were before it."""
        mask = np.ones(n, dtype=bool)
        said: list[str] = []
        for words, keep in self._steps(catalog, item_index, n):
            left = mask & keep
            if not left.any():
                before = f" among the {int(mask.sum()):,} items " + (
                    "that are " + " and ".join(said) if said else "of the catalogue")
                return f"no item is {words}{before}"
            mask, said = left, [*said, words]
        if seen is not None and self.exclude_seen and not (mask & ~seen).any():
            return (f"the person has already engaged with every item that is "
                    f"{' and '.join(said) or 'in the catalogue'} ({int(mask.sum()):,})")
        return "no item passes the filters"


def _top_indices(scores: np.ndarray, allowed: np.ndarray, k: int, *, positive_only: bool
                 ) -> list[int]:
    """The best ``k`` allowed items by score, ties by position: the order of ``_top``."""
    candidates = (np.flatnonzero(allowed & (scores > 0)) if positive_only
                  else np.flatnonzero(allowed))
    if len(candidates) == 0 or k <= 0:
        return []
    if len(candidates) > k:
        candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    return candidates[np.lexsort((candidates, -scores[candidates]))].tolist()


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
        raise InvalidInput(f"k must be a positive whole number, got {k!r}", field="k")
    if k > MAX_K:
        raise InvalidInput(f"k is at most {MAX_K}, got {k}", field="k")


class Recommender(ABC):
    """Base of every recommender: hyperparameters are keyword-only ``__init__`` arguments,
    ``fit`` returns ``self``, learned state ends in ``_``."""

    name: ClassVar[str]
    # True for models that know something of a person beyond their history (their friends).
    scores_without_history: ClassVar[bool] = False
    # Hyperparameters read only when scoring: changing one needs no refit (tuning reuses fits).
    scoring_params: ClassVar[tuple[str, ...]] = ()
    # True for models whose scores for a one-item history say which items they relate to it.
    similar_by_scores: ClassVar[bool] = True
    metadata_: dict[str, Any]

    # -- what each model supplies ----------------------------------------------------

    @abstractmethod
    def _fit(self, data: Interactions) -> None: ...

    @abstractmethod
    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        """Scores of every item for ``user``, whose history is ``row`` (1 × items)."""

    @abstractmethod
    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        """Why ``item`` is recommended to ``user``, whose history is ``row``."""

    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        return None

    def _forget_rows(self, keep: np.ndarray) -> None:
        """Drop per-person learned state of the people where ``keep`` is False; called by
        :meth:`forget` once ``interactions_`` and ``popularity_`` are without them."""
        return None

    def choice(self) -> dict[str, Any] | None:
        """What a model that chooses for itself (auto, hybrid) chose, for ``train --json``;
        None for the others."""
        return None

    def forget(self, ids: Iterable[str]) -> int:
        """Remove people (by the ids the model knows them by) from the fitted model, in
        place: erasure. Returns how many people went. See :mod:`tailored.recommend.forgetting`.
        """
        from tailored.recommend.forgetting import forget_people

        return forget_people(self, ids)

    def with_side(self, side: SideData) -> Self:
        """Item records and social ties for models that learn from them (content, social,
        and blends holding those); the others ignore them. Returns ``self``: a fit follows."""
        self._side = side
        return self

    @property
    def side(self) -> SideData:
        """The side data given with :meth:`with_side` (empty if none)."""
        return getattr(self, "_side", None) or SideData()

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as scikit-learn reads them: the ``__init__`` arguments."""
        names = inspect.signature(type(self).__init__).parameters
        return {n: getattr(self, n) for n in names if n != "self"}

    # -- the contract ---------------------------------------------------------------

    def fit(self, data: Interactions, catalog: CatalogView | None = None) -> Self:
        if data.matrix.nnz == 0:
            raise InvalidInput("no interactions to learn from", field="interactions")
        self._loaded(data, catalog or CatalogView.empty(len(data.item_ids)), {})
        self._fit(data)
        return self

    def _loaded(self, data: Interactions, catalog: CatalogView, metadata: dict[str, Any]
                ) -> None:
        """The state every model holds besides its own: what it learnt from, the catalogue,
        popularity, and room for people's new events (fit and load both set it)."""
        self.interactions_ = data
        self.catalog_ = catalog
        x = data.matrix
        self.popularity_ = np.bincount(np.asarray(x.indices)[np.asarray(x.data) != 0],
                                       minlength=x.shape[1]).astype(np.float64)
        self._fresh: dict[str, sp.csr_matrix] = {}
        self._fresh_signals: dict[str, dict[int, str | None]] = {}
        self._fresh_times: dict[str, dict[int, float]] = {}
        self.metadata_ = metadata

    def _check_fitted(self) -> None:
        if not hasattr(self, "interactions_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit")

    def _row(self, user: str) -> sp.csr_matrix | None:
        if user in self._fresh:
            return self._fresh[user]
        index = self.interactions_.user_index.get(user)
        return None if index is None else self.interactions_.matrix[index]

    def _recency(self, row: sp.csr_matrix, user: str, half_life: float | None) -> np.ndarray:
        """A weight for each item of ``row`` (in ``row.indices`` order): 1 for the newest,
        halving every ``half_life`` items further back. All ones without times."""
        ones = np.ones(row.nnz)
        if half_life is None or row.nnz == 0:
            return ones
        data = self.interactions_
        index = data.user_index.get(user)
        if data.last_seen is not None and index is not None:
            times = np.asarray(data.last_seen[index, row.indices].toarray()).ravel()
        elif user in self._fresh_times:
            times = np.zeros(row.nnz)
        else:
            return ones
        fresh = self._fresh_times.get(user, {})
        if fresh:
            times = times.copy()
            for j, item in enumerate(row.indices.tolist()):
                times[j] = fresh.get(item, times[j])
        order = np.argsort(-times, kind="stable")
        rank = np.empty(row.nnz)
        rank[order] = np.arange(row.nnz)
        return np.power(0.5, rank / half_life)

    def recommend(self, user: str, k: int = 10, filters: Filters | None = None
                  ) -> list[Recommendation]:
        """The top ``k`` items for ``user``, each with a reason; an unknown person gets the
        most popular items, and the reason says so."""
        self._check_fitted()
        _check_k(k)
        token = _REASONS.set({"used": {}, "user": user})
        try:
            return self._recommend(user, k, filters or Filters())
        finally:
            _REASONS.reset(token)

    def _recommend(self, user: str, k: int, filters: Filters) -> list[Recommendation]:
        if not 0.0 <= filters.diversity <= 1.0:
            raise InvalidInput(f"diversity must be between 0 and 1, got {filters.diversity!r}",
                               field="diversity")
        data, n = self.interactions_, len(self.interactions_.item_ids)
        allowed = filters.allowed(self.catalog_, data.item_index, n)
        row = self._row(user)
        known = row is not None and row.nnz > 0
        if row is not None and known and filters.exclude_seen:
            allowed[row.indices] = False
        picks: list[Recommendation] = []
        cap = filters.max_per_category
        for n_pin, item_id in enumerate(filters.pinned):
            index = data.item_index.get(item_id)
            if index is not None and allowed[index] and len(picks) < k:
                # A score above any model's keeps pins first when lists are re-sorted.
                picks.append(Recommendation(item_id, 1e6 - n_pin, "featured"))
                allowed[index] = False
        if (row is not None and known) or self.scores_without_history:
            history = row if row is not None else sp.csr_matrix((1, n))
            scores = self._scores(history, user)
            for item_id, factor in filters.boosts:
                index = data.item_index.get(item_id)
                if index is not None:
                    scores[index] *= factor
            picks += self._top(scores, allowed, k - len(picks),
                               lambda i: self._reason(history, i, user), cap=cap, taken=picks,
                               diversity=filters.diversity)
            known = known or bool(picks)
        if len(picks) < k:
            # Fill from what is popular: better a popular item, said so, than a short list.
            taken = allowed.copy()
            taken[[data.item_index[p.item_id] for p in picks]] = False
            reason = (self._popular_reason if known else self._cold_reason)
            picks += self._top(self.popularity_ / max(self.popularity_.max(), 1.0) * 1e-3,
                               taken, k - len(picks), reason, positive_only=False, cap=cap,
                               taken=picks)
        return picks

    def why_empty(self, user: str, filters: Filters) -> str:
        """Why ``recommend(user, k, filters)`` gives no item, in words a marketer can read."""
        self._check_fitted()
        data, n = self.interactions_, len(self.interactions_.item_ids)
        row = self._row(user)
        seen = np.zeros(n, dtype=bool)
        if row is not None:
            seen[row.indices] = True
        return filters.why_empty(self.catalog_, data.item_index, n, seen)

    def _popular_reason(self, item: int) -> str:
        return f"popular: {int(self.popularity_[item])} people engaged with it"

    def _cold_reason(self, item: int) -> str:
        return (f"popular with {int(self.popularity_[item])} people — we don't know your "
                "taste yet")

    def _top(self, scores: np.ndarray, allowed: np.ndarray, k: int, reason: Any,
             *, positive_only: bool = True, cap: int | None = None,
             taken: Sequence[Recommendation] = (), diversity: float = 0.0,
             ) -> list[Recommendation]:
        candidates = np.flatnonzero(allowed & (scores > 0)) if positive_only else \
            np.flatnonzero(allowed)
        if len(candidates) == 0 or k <= 0:
            return []
        # With a category cap or MMR, look deeper than k: items set aside make room.
        deeper = cap is not None or diversity > 0
        depth = min(len(candidates), k * 10) if deeper else k
        if len(candidates) > depth:
            part = np.argpartition(-scores[candidates], depth - 1)[:depth]
            candidates = candidates[part]
        order = candidates[np.lexsort((candidates, -scores[candidates]))]
        if cap is not None:
            cats = self.catalog_.categories
            used: dict[str, int] = {}
            for p in taken:
                c = cats[self.interactions_.item_index[p.item_id]]
                used[c] = used.get(c, 0) + 1
            kept = []
            for i in order:
                c = cats[i]
                if used.get(c, 0) < cap or not c:
                    used[c] = used.get(c, 0) + 1
                    kept.append(i)
            order = np.array(kept, dtype=np.int64)
        if diversity > 0 and len(order) > 1:
            order = self._mmr(order, scores, k, diversity, taken)
        ids = self.interactions_.item_ids
        out = []
        for i in order[:k]:
            state = _REASONS.get()
            if state is not None:
                state.pop("cited", None)
            text = reason(int(i))
            cited = None if state is None else state.pop("cited", None)
            out.append(Recommendation(str(ids[i]), float(scores[i]), text,
                                      None if cited is None else str(ids[cited])))
        return out

    def _mmr(self, order: np.ndarray, scores: np.ndarray, k: int, diversity: float,
             taken: Sequence[Recommendation]) -> np.ndarray:
        """Maximal marginal relevance (Carbonell & Goldstein 1998): pick, one at a time, the
        item with the best ``(1 − diversity) · relevance − diversity · likeness`` to what is
        already in the list. Likeness is the cosine of two items' audiences (who engaged
        with them), and at least 0.5 for two items of the same category, so new items with
        no audience yet are still told apart."""
        data = self.interactions_
        before = [data.item_index[p.item_id] for p in taken if p.item_id in data.item_index]
        pool = np.concatenate([np.asarray(before, dtype=np.int64), order])
        if getattr(self, "_audiences", (None,))[0] is not data.matrix:
            x = data.matrix.tocsc(copy=True)
            x.data[:] = 1.0
            norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
            self._audiences = (data.matrix, x @ sp.diags(1.0 / np.maximum(norms, 1e-12)))
        v = self._audiences[1][:, pool]
        like = np.asarray((v.T @ v).toarray())
        cats = self.catalog_.categories[pool]
        same = (cats[:, None] == cats[None, :]) & (cats[:, None] != "")
        like = np.maximum(like, 0.5 * same)
        rel = scores[order].astype(np.float64)
        span = rel.max() - rel.min()
        rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
        chosen = list(range(len(before)))
        left = list(range(len(before), len(pool)))
        out: list[int] = []
        while left and len(out) < k:
            sims = (like[np.ix_(left, chosen)].max(axis=1) if chosen
                    else np.zeros(len(left)))
            value = (1 - diversity) * rel[np.asarray(left) - len(before)] - diversity * sims
            best = left[int(np.argmax(value))]
            chosen.append(best)
            left.remove(best)
            out.append(int(pool[best]))
        return np.asarray(out, dtype=np.int64)

    def rank(self, user: str, item_ids: Sequence[str]) -> list[str]:
        """Order the given items for ``user``, best first (for a candidate list)."""
        self._check_fitted()
        data = self.interactions_
        index = np.array([data.item_index.get(i, -1) for i in item_ids], dtype=np.int64)
        row = self._row(user)
        if (row is not None and row.nnz > 0) or self.scores_without_history:
            history = row if row is not None else sp.csr_matrix((1, len(data.item_ids)))
            all_scores = self._scores(history, user)
        else:
            all_scores = self.popularity_.astype(np.float64)
        scores = np.where(index >= 0, all_scores[np.maximum(index, 0)], -np.inf)
        order = np.lexsort((np.arange(len(index)), -scores))
        return [item_ids[n] for n in order]

    def preferences(self, user: str, k: int = 3) -> dict[str, list[dict[str, Any]]]:
        """The brands, categories and price bands a person favours, by the weight of what
        they engaged with (share of their total, strongest first)."""
        self._check_fitted()
        _check_k(k)
        row = self._row(user)
        if row is None or row.nnz == 0:
            return {"brands": [], "categories": [], "price_bands": []}
        cat = self.catalog_
        total = float(row.data.sum()) or 1.0
        prices = cat.prices[row.indices]
        known = ~np.isnan(cat.prices)
        edges = (np.quantile(cat.prices[known], [0.2, 0.4, 0.6, 0.8]) if known.sum() >= 5
                 else None)
        tallies: dict[str, dict[str, float]] = {"brands": {}, "categories": {},
                                                "price_bands": {}}
        for j, (item, w) in enumerate(zip(row.indices.tolist(), row.data.tolist(),
                                          strict=True)):
            for key, value in (("brands", cat.brands[item]),
                               ("categories", cat.categories[item])):
                if value:
                    tallies[key][value] = tallies[key].get(value, 0.0) + w
            if edges is not None and not np.isnan(prices[j]):
                band = int(np.searchsorted(edges, prices[j], side="right"))
                low = "min" if band == 0 else f"{edges[band - 1]:.2f}"
                high = "max" if band == 4 else f"{edges[band]:.2f}"
                label = f"{low}–{high}"
                tallies["price_bands"][label] = tallies["price_bands"].get(label, 0.0) + w
        return {key: [{"value": v, "share": round(w / total, 4)} for v, w in
                      sorted(t.items(), key=lambda kv: -kv[1])[:k]]
                for key, t in tallies.items()}

    def recommend_batch(self, users: Iterable[str], k: int = 10,
                        filters: Filters | None = None) -> dict[str, list[Recommendation]]:
        return {u: self.recommend(u, k, filters) for u in users}

    def top_items(self, users: Sequence[str], k: int = 10, *, batch: int = 512
                  ) -> dict[str, list[str]]:
        """The ids ``recommend(user, k)`` would list for each person (no filters beyond
        what they have and what is unavailable), without building reasons, scored
        ``batch`` people at a time (one matrix product where the model allows): what an
        evaluation needs, in a fraction of the time."""
        self._check_fitted()
        _check_k(k)
        data, n = self.interactions_, len(self.interactions_.item_ids)
        base_allowed = self.catalog_.available.astype(bool)
        popular = self.popularity_ / max(float(self.popularity_.max()), 1.0) * 1e-3
        out: dict[str, list[str]] = {}
        for start in range(0, len(users), batch):
            chunk = [str(u) for u in users[start:start + batch]]
            rows = [self._row(u) for u in chunk]
            scored = [i for i, r in enumerate(rows)
                      if (r is not None and r.nnz > 0) or self.scores_without_history]
            histories = [rows[i] if rows[i] is not None else sp.csr_matrix((1, n))
                         for i in scored]
            matrix = (self._scores_many(histories, [chunk[i] for i in scored]) if scored
                      else np.zeros((0, n)))
            by_position = dict(zip(scored, range(len(scored)), strict=True))
            for i, user in enumerate(chunk):
                allowed = base_allowed.copy()
                row = rows[i]
                if row is not None and row.nnz:
                    allowed[row.indices] = False
                picks: list[int] = []
                if i in by_position:
                    picks = _top_indices(matrix[by_position[i]], allowed, k, positive_only=True)
                if len(picks) < k:
                    allowed[picks] = False
                    picks += _top_indices(popular, allowed, k - len(picks), positive_only=False)
                out[user] = [str(data.item_ids[j]) for j in picks]
        return out

    def _scores_many(self, rows: Sequence[sp.csr_matrix], users: Sequence[str]) -> np.ndarray:
        """Scores of every item for several people (one row each); models with a cheaper
        way than one person at a time override it."""
        return np.vstack([self._scores(r, u) for r, u in zip(rows, users, strict=True)])

    def similar_items(self, item: str, k: int = 10) -> list[Recommendation]:
        """The items this model relates most to ``item``: its own scores for a person whose
        whole history is ``item`` (so EASE, ALS, item-kNN... each answer by what they
        learnt), or, for models that do not relate items (``similar_by_scores`` false), the
        items most often engaged with by the same people (cosine over people)."""
        self._check_fitted()
        _check_k(k)
        data = self.interactions_
        index = data.item_index.get(item)
        if index is None:
            raise InvalidInput(f"unknown item {item!r}", field="item")
        label = self.catalog_.label(index, item)
        allowed = np.ones(len(data.item_ids), dtype=bool)
        allowed[index] = False
        if self.similar_by_scores:
            scores = self._similar_scores(index)
            found = self._top(scores, allowed, k, lambda i: f"liked by people who liked {label}")
            if found:
                return found
        x = data.matrix.tocsc()
        col = x[:, index]
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        scores = np.asarray((x.T @ col).todense()).ravel() / (
            norms * max(norms[index], 1e-12) + 1e-12)
        return self._top(scores, allowed, k, lambda i: f"often chosen together with {label}")

    def _similar_scores(self, index: int) -> np.ndarray:
        """How much this model relates each item to item ``index``: by default its scores
        for a person whose whole history is that item."""
        row = sp.csr_matrix(([1.0], ([0], [index])), shape=(1, len(self.interactions_.item_ids)))
        return np.asarray(self._scores(row, _NOBODY), dtype=np.float64).ravel()

    def update(self, user: str, item_ids: Sequence[str], weights: Sequence[float] | None = None,
               signals: Sequence[str | None] | None = None) -> None:
        """Fold a person's new events in without retraining: their next list uses them.

        ``signals`` (e.g. "order", "view") let reasons say what the person did."""
        self._check_fitted()
        data = self.interactions_
        row = self._row(user)
        current = row.toarray().ravel() if row is not None else np.zeros(len(data.item_ids))
        said = self._fresh_signals.setdefault(user, {})
        # New events are the newest of the person's history, in the order given.
        when = self._fresh_times.setdefault(user, {})
        newest = max([time.time(), *when.values()]) if when else time.time()
        if data.last_seen is not None and data.last_seen.nnz:
            newest = max(newest, float(data.last_seen.data.max()))
        for n, item in enumerate(item_ids):
            index = data.item_index.get(item)
            if index is not None:
                current[index] += 1.0 if weights is None else float(weights[n])
                when[index] = newest + 1.0 + n
                if signals is not None:
                    said[index] = signals[n]
        self._fresh[user] = sp.csr_matrix(current)

    # -- persistence (the file format lives in persistence.py) ----------------------

    def save(self, path: Path, metadata: dict[str, Any] | None = None) -> None:
        """One .npz file, no pickle: arrays and a JSON header, replaced atomically."""
        from tailored.recommend.persistence import save_model

        save_model(self, path, metadata)

    @staticmethod
    def read_header(path: Path) -> dict[str, Any]:
        from tailored.recommend.persistence import read_header

        return read_header(path)

    @classmethod
    def load(cls, path: Path) -> Recommender:
        """A saved model; its arrays are memory-mapped from the file, not read into memory."""
        from tailored.recommend.persistence import load_model

        return load_model(path)

    # -- helpers for reasons --------------------------------------------------------

    def _disliked(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        """The history items (indices into ``row.indices``) the person rated explicitly
        below their own mean rating: never a reason."""
        data = self.interactions_
        index = data.user_index.get(user)
        fresh = self._fresh_signals.get(user, {})
        codes = np.zeros(row.nnz, dtype=np.int8)
        if index is not None:
            codes = np.asarray(data.strongest[index, row.indices].toarray()).ravel()
        rated = codes == RATING_CODE
        for j, item in enumerate(row.indices.tolist()):
            if item in fresh:
                rated[j] = fresh[item] == "rating"
        if rated.sum() < 2:
            return np.zeros(row.nnz, dtype=bool)
        values = np.asarray(row.data, dtype=np.float64)
        return rated & (values < values[rated].mean() - 1e-9)

    def _pick_source(self, row: sp.csr_matrix, user: str, positions: np.ndarray,
                     strength: np.ndarray) -> int | None:
        """Which history item explains a recommendation: the strongest of ``positions``
        (indices into ``row.indices``, with their ``strength``) that the person liked, and,
        while another will do, one that has not already explained ``REASON_CAP`` items of
        this list. None when no liked item contributes."""
        positions = np.asarray(positions, dtype=np.int64)
        strength = np.asarray(strength, dtype=np.float64)
        state = _REASONS.get()
        if state is None or state.get("user") != user:
            state = None
        if state is not None and state.get("row") is not row:
            state["row"], state["disliked"] = row, self._disliked(row, user)
        disliked = state["disliked"] if state is not None else self._disliked(row, user)
        ok = (strength > 0) & ~disliked[positions]
        if not ok.any():
            return None
        if state is not None:
            used = state["used"]
            items = row.indices[positions]
            fresh = ok & np.array([used.get(int(i), 0) < REASON_CAP for i in items], dtype=bool)
            if fresh.any():
                ok = fresh
        best = int(positions[np.flatnonzero(ok)[np.argmax(strength[ok])]])
        source = int(row.indices[best])
        if state is not None:
            state["used"][source] = state["used"].get(source, 0) + 1
            state["cited"] = source
        return source

    def _because(self, source: int, user: str) -> str:
        """"because you bought X": the verb from the person's strongest signal on X."""
        data = self.interactions_
        label = self.catalog_.label(source, str(data.item_ids[source]))
        signal = self._fresh_signals.get(user, {}).get(source)
        index = data.user_index.get(user)
        if signal is None and index is not None:
            signal = data.signal_of(index, source)
        return f"because you {SIGNAL_VERBS.get(signal, 'liked')} {label}"
