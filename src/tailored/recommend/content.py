"""Content-based: items whose words and attributes match what a person engaged with.

Each item is a vector of TF-IDF weights over its title, description and tags (Chinese text
cut into words by jieba) beside one-hot attributes: every level of its category path, its
brand and its price band. A person's interest is the weighted mean of the vectors of the
items they engaged with, and items are ranked by cosine similarity to it. Nothing here needs
anyone to have engaged with an item, so a new item is recommendable from the day it arrives.

The text comes from the item records, given before fit with :meth:`ContentBased.with_items`
or as side data (:meth:`Recommender.with_side`, :meth:`SideData.from_snapshot`); without
them the model learns from the catalogue view's titles, categories, brands and prices alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from tailored.errors import InvalidInput
from tailored.extras import require
from tailored.recommend.base import Recommendation, Recommender, _check_k
from tailored.recommend.catalog import CatalogView
from tailored.recommend.interactions import Interactions

__all__ = ["ContentBased"]

PRICE_BANDS = 5  # quantile bands over the catalogue's known prices

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+")


def _tokens(text: str) -> list[str]:
    """Lower-cased words; text with Chinese characters is segmented by jieba."""
    text = text.lower()
    if not _CJK.search(text):
        return _WORD.findall(text)
    # Loads its dictionary (shipped in the package) on first use: ~1 s.
    jieba = require("jieba", "zh")

    jieba.setLogLevel(logging.WARNING)
    return [t for t in jieba.lcut(text) if _WORD.search(t)]


def _join(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return " ".join(str(v) for v in value)


def _path(value: Any) -> list[str]:
    """A category as its levels: ["Books", "Crime"] from a list or from "Books > Crime"."""
    if value is None:
        return []
    parts = value.split(">") if isinstance(value, str) else list(value)
    return [str(p).strip() for p in parts if str(p).strip()]


class ContentBased(Recommender):
    """Ranks items by the cosine similarity of their text and attributes to a person's
    interests: the weighted mean of what they engaged with.

    Item text is given before fit with :meth:`with_items`; without it the model uses the
    catalogue view's titles, categories, brands and prices. A reason names what the item
    shares most with the person's interests ("matches your interest in 手机"), or, for an
    item no one has engaged with yet, the person's item it is most like ("new and similar
    to X"). New events re-score at once: the interest vector is recomputed from the history.

    Parameters
    ----------
    max_features : int
        Largest vocabulary kept (the most frequent terms).
    min_df : int or float
        Terms in fewer items than this (a count, or a share when a float) are dropped.
    ngram_range : tuple of int
        Word n-grams used, (1, 2) for words and pairs of words.
    attribute_weight : float
        Share of the similarity that comes from category, brand and price band (0 to 1);
        the rest comes from the text.

    Attributes
    ----------
    features_ : sparse matrix of shape (n_items, n_features)
        Each item's vector, of unit length (zero for an item with nothing known).
    feature_names_ : ndarray of str
        What each feature is, as a reason names it: a term, a category, a brand, a band.

    Examples
    --------
    >>> from tailored.recommend import Interactions
    >>> from tailored.recommend.content import ContentBased
    >>> data = Interactions.from_arrays(["ann"], ["p1"], item_ids=["p1", "p2", "s1"])
    >>> model = ContentBased().with_items([
    ...     {"item_id": "p1", "title": "华为旗舰手机"}, {"item_id": "p2", "title": "小米手机"},
    ...     {"item_id": "s1", "title": "男士运动鞋"}]).fit(data)
    >>> [(r.item_id, r.reason) for r in model.recommend("ann", k=1)]
    [('p2', 'new and similar to "华为旗舰手机"')]
    """

    name = "content"

    def __init__(self, *, max_features: int = 50_000, min_df: int | float = 1,
                 ngram_range: tuple[int, int] = (1, 2), attribute_weight: float = 0.5
                 ) -> None:
        self.max_features = max_features
        self.min_df = min_df
        self.ngram_range = ngram_range
        self.attribute_weight = attribute_weight

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        # A saved model's parameters come back from JSON, where a tuple is a list.
        params["ngram_range"] = tuple(params["ngram_range"])
        return params

    # -- item text ------------------------------------------------------------------

    def with_items(self, items: Iterable[Mapping[str, Any]]) -> Self:
        """Give the item records to learn from at the next fit, one mapping per item with
        ``item_id`` and any of title, description, tags, category, brand, price (the
        columns of a snapshot's items.parquet). Returns ``self``, so a fit can follow."""
        records: dict[str, Mapping[str, Any]] = {}
        for record in items:
            if "item_id" not in record:
                raise InvalidInput("every item record needs an item_id", field="items")
            records[str(record["item_id"])] = record
        self._items = records
        return self

    # -- the model ------------------------------------------------------------------

    def _fit(self, data: Interactions) -> None:
        if not 0.0 <= self.attribute_weight <= 1.0:
            raise ValueError(f"attribute_weight must be between 0 and 1, got "
                             f"{self.attribute_weight!r}")
        records = getattr(self, "_items", None) or {
            str(r["item_id"]): r for r in self.side.items}
        ids = data.item_ids.tolist()
        found = [records.get(str(i), {}) for i in ids]
        self.catalog_ = _filled(self.catalog_, found)
        cat = self.catalog_
        texts = [" ".join(filter(None, (cat.titles[n] or "", _join(r.get("description")),
                                         _join(r.get("tags")))))
                 for n, r in enumerate(found)]
        text, terms = self._text_features(texts)
        attributes, labels = _attribute_features(cat)
        # Each block at unit length, then weighted, so the cosine of two items is
        # (1 − w) × their text cosine + w × their attribute cosine.
        w = self.attribute_weight
        blocks = sp.hstack([np.sqrt(1.0 - w) * _unit_rows(text),
                            np.sqrt(w) * _unit_rows(attributes)])
        self.features_ = _unit_rows(blocks)
        self.feature_names_ = np.asarray([*terms, *labels], dtype=str)
        self._cache: tuple[sp.csr_matrix, np.ndarray] | None = None

    def _text_features(self, texts: list[str]) -> tuple[sp.csr_matrix, list[str]]:
        if not any(t.strip() for t in texts):
            return sp.csr_matrix((len(texts), 0)), []
        vectorizer = TfidfVectorizer(
            tokenizer=_tokens, token_pattern=None, lowercase=False, sublinear_tf=True,
            ngram_range=tuple(self.ngram_range), max_features=self.max_features,
            min_df=self.min_df, dtype=np.float64)
        matrix = vectorizer.fit_transform(texts).tocsr()
        return matrix, vectorizer.get_feature_names_out().tolist()

    def _interest(self, row: sp.csr_matrix) -> np.ndarray:
        """The person's interest vector: the weighted mean of their items' vectors."""
        cached = self._cache
        if cached is not None and cached[0] is row:  # reasons for one list share the row
            return cached[1]
        total = float(row.sum())
        interest = np.zeros(self.features_.shape[1])
        if total > 0:
            interest = np.asarray((row @ self.features_).todense()).ravel() / total
        self._cache = (row, interest)
        return interest

    def _scores(self, row: sp.csr_matrix, user: str) -> np.ndarray:
        interest = self._interest(row)
        # Not np.linalg.norm: a BLAS call that on a busy machine waits ms for its threads.
        norm = float(np.sqrt(np.square(interest).sum()))
        if norm == 0:
            return np.zeros(self.features_.shape[0])
        return np.asarray(self.features_ @ interest) / norm

    def _reason(self, row: sp.csr_matrix, item: int, user: str) -> str:
        vector = self.features_[item]
        new = self.popularity_[item] == 0
        if not new:
            # What the item shares most with the person's interests: a term, a category...
            shared = self._interest(row)[vector.indices] * vector.data
            if len(shared) and shared.max() > 0:
                top = int(vector.indices[np.argmax(shared)])
                return f"matches your interest in {self.feature_names_[top]}"
        source = None
        if row.nnz:
            similarity = np.asarray((self.features_[row.indices] @ vector.T).todense()).ravel()
            source = self._pick_source(row, user, np.arange(row.nnz), similarity)
        if source is None:
            return "matches your interests"
        label = self.catalog_.label(source, str(self.interactions_.item_ids[source]))
        return f"new and similar to {label}" if new else f"similar to {label}"

    def similar_items(self, item: str, k: int = 10) -> list[Recommendation]:
        """Items whose text and attributes are most like ``item``'s, new items included."""
        self._check_fitted()
        _check_k(k)
        index = self.interactions_.item_index.get(item)
        if index is None:
            raise InvalidInput(f"unknown item {item!r}", field="item")
        scores = np.asarray((self.features_ @ self.features_[index].T).todense()).ravel()
        allowed = np.ones(len(scores), dtype=bool)
        allowed[index] = False
        label = self.catalog_.label(index, item)

        def reason(i: int) -> str:
            return f"new and similar to {label}" if self.popularity_[i] == 0 else \
                f"similar to {label}"

        return self._top(scores, allowed, k, reason)

    def _state(self) -> dict[str, np.ndarray]:
        f = self.features_
        return {"f_data": f.data, "f_indices": f.indices, "f_indptr": f.indptr,
                "f_shape": np.asarray(f.shape), "feature_names": self.feature_names_}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.features_ = sp.csr_matrix(
            (state["f_data"], state["f_indices"], state["f_indptr"]),
            shape=tuple(state["f_shape"]))
        self.feature_names_ = state["feature_names"]
        self._cache = None


def _unit_rows(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Each row scaled to unit length; rows of zeros stay zero."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix)


def _filled(catalog: CatalogView, records: list[Mapping[str, Any]]) -> CatalogView:
    """A copy of the catalogue view with what it lacks taken from the item records, so
    reasons name titles and filters see categories, brands and prices."""
    view = replace(catalog, titles=catalog.titles.copy(), categories=catalog.categories.copy(),
                   brands=catalog.brands.copy(), prices=catalog.prices.copy())
    for n, record in enumerate(records):
        if not view.titles[n] and record.get("title"):
            view.titles[n] = str(record["title"])
        if not view.categories[n] and record.get("category"):
            view.categories[n] = " > ".join(_path(record["category"]))
        if not view.brands[n] and record.get("brand"):
            view.brands[n] = str(record["brand"])
        if np.isnan(view.prices[n]) and record.get("price") is not None:
            view.prices[n] = float(record["price"])
    return view


def _attribute_features(catalog: CatalogView) -> tuple[sp.csr_matrix, list[str]]:
    """One-hot: every level of the category path (weighted by depth), the brand, the
    price band."""
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    # Keyed by kind as well as name: a brand may share its name with a category.
    columns: dict[tuple[str, str], int] = {}

    def add(item: int, kind: str, name: str, value: float = 1.0) -> None:
        rows.append(item)
        cols.append(columns.setdefault((kind, name), len(columns)))
        values.append(value)

    for n, category in enumerate(catalog.categories.tolist()):
        levels = _path(category)
        for depth in range(1, len(levels) + 1):
            # Deeper levels weigh more: sharing "Garden > Tools" says more than "Garden".
            add(n, "category", " > ".join(levels[:depth]), float(depth))
        if catalog.brands[n]:
            add(n, "brand", str(catalog.brands[n]))
    prices = catalog.prices.astype(np.float64)
    known = ~np.isnan(prices)
    if known.any():
        edges = np.unique(np.quantile(prices[known], np.linspace(0, 1, PRICE_BANDS + 1)[1:-1]))
        bands = np.searchsorted(edges, prices[known], side="right")
        for band in np.unique(bands):
            members = np.flatnonzero(known)[bands == band]
            low, high = prices[members].min(), prices[members].max()
            label = f"items priced {low:g}" if low == high else f"items priced {low:g}–{high:g}"
            for n in members:
                add(int(n), "price", label)
    matrix = sp.csr_matrix((values, (rows, cols)),
                           shape=(len(catalog.titles), len(columns)))
    return matrix, [name for _, name in columns]
