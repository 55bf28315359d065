"""Learning a segment: what it is (the target), the customers' features, a held-out test, and
the model's rules or coefficients in words.

A target is one of

* ``next-purchase:N`` — bought in the N days after the cut-off (its end included): features
  are taken strictly before the cut-off (default: N days before the latest event) and the
  label from the N days from it, so the model predicts rather than restates;
* a rule of the segment rule language, as JSON text (``{"metric": "orders", ">=": 3}``) or a
  ``.json``/``.yaml`` file — its members as of the same moment as the features;
* the name of a stored segment (``rfm:Champions``, ``cluster-2`` ...) — its current members,
  from the snapshot's ``segment_members`` table or the store.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split

from tailored.analytics.customers import Customers
from tailored.analytics.features import resolve_as_of
from tailored.analytics.orders import orders
from tailored.errors import InvalidInput
from tailored.segments.classifiers import SegmentLogistic, SegmentTree
from tailored.segments.clustering import clustering_frame

if TYPE_CHECKING:
    from tailored.analytics.source import Source

__all__ = ["MODELS", "LearnResult", "learn_segment", "target_members"]

MODELS = ("tree", "logistic")
_NEXT = re.compile(r"^next-purchase:(\d+)$")
_MIN_CLASS = 2  # a stratified split needs two of each class

SegmentLookup = Callable[[str], "list[str] | None"]


@dataclass
class LearnResult:
    """A fitted segment model with its test figures and explanation."""

    target: str
    model: SegmentTree | SegmentLogistic
    metrics: dict[str, Any]
    explanation: list[dict[str, Any]]
    as_of: datetime
    population: Customers = field(default_factory=Customers)

    def summary(self) -> dict[str, Any]:
        return {"target": self.target, "model": "tree" if isinstance(self.model, SegmentTree)
                else "logistic", "as_of": self.as_of.isoformat(),
                "features": self.model.selected_features_,
                "feature_scores": {k: round(v, 6) for k, v in getattr(
                    self.model, "feature_scores_", {}).items()},
                "metrics": self.metrics, "explanation": self.explanation,
                **self.population.report()}


def _stored(source: Source, name: str, lookup: SegmentLookup | None,
            known: Sequence[str]) -> list[str]:
    try:
        table = source.table("segment_members")
    except InvalidInput:
        table = None
    names = list(known)
    if table is not None:
        names += [str(s) for s in table.select("segment").distinct().execute()["segment"]]
        rows = table.filter(table.segment == name).select("profile_id").execute()
        if len(rows):
            return [str(p) for p in rows["profile_id"]]
    members = lookup(name) if lookup is not None else None
    if members is None and name not in names:
        close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else (
            "; targets are a stored segment, a rule (JSON or a .json/.yaml file) or "
            "next-purchase:DAYS")
        raise InvalidInput(f"unknown target segment {name!r}{hint}", field="target")
    if not members:
        raise InvalidInput(f"segment {name!r} has no members: there is nothing to learn",
                           field="target")
    return list(members)


def _rule(source: Source, text: str, as_of: datetime | None) -> list[str]:
    # Imported here: the rule language is another module's, needed only for rule targets.
    from tailored.segments.compile import members_query
    from tailored.segments.rules import load_rule_document, parse_rule

    query = members_query(parse_rule(load_rule_document(text)), source, as_of=as_of)
    return [str(p) for p in query.execute()["profile_id"]]


def _next_purchase(source: Source, days: int, as_of: datetime) -> list[str]:
    od = orders(source)
    start = ibis.literal(as_of)
    end = ibis.literal(as_of + timedelta(days=days))
    bought = od.filter((od.timestamp >= start) & (od.timestamp <= end))
    return [str(p) for p in bought.select("profile_id").distinct().execute()["profile_id"]]


def target_members(source: Source, target: str, *, as_of: datetime | None = None,
                   lookup: SegmentLookup | None = None, known: Sequence[str] = ()
                   ) -> tuple[list[str], datetime | None]:
    """The profiles in ``target``, and the moment features must be taken at (None: latest)."""
    target = target.strip()
    if not target:
        raise InvalidInput("the target is empty: name a segment, a rule or "
                           "next-purchase:DAYS", field="target")
    match = _NEXT.match(target)
    if match:
        days = int(match[1])
        if days < 1:
            raise InvalidInput("next-purchase needs 1 day or more", field="target")
        if as_of is None:
            latest, _ = resolve_as_of(source, None)
            as_of = latest - timedelta(days=days)
        return _next_purchase(source, days, as_of), as_of
    if target.startswith("{") or Path(target).suffix in {".json", ".yaml", ".yml"}:
        return _rule(source, target, as_of), as_of
    return _stored(source, target, lookup, known), as_of


def _metrics(y: np.ndarray[Any, Any], pred: np.ndarray[Any, Any],
             proba: np.ndarray[Any, Any]) -> dict[str, float]:
    out = {"accuracy": accuracy_score(y, pred),
           "balanced_accuracy": balanced_accuracy_score(y, pred),
           "precision": precision_score(y, pred, zero_division=0),
           "recall": recall_score(y, pred, zero_division=0), "f1": f1_score(y, pred)}
    if len(set(y)) == 2:
        out["roc_auc"] = roc_auc_score(y, proba)
    return {k: round(float(v), 4) for k, v in out.items()}


def learn_segment(source: Source, target: str, *, model: str = "tree",
                  select: str | None = None, k_features: int = 5,
                  as_of: datetime | None = None, lookup: SegmentLookup | None = None,
                  known: Sequence[str] = (), test_size: float = 0.25,
                  random_state: int = 0, include_anonymous: bool = False) -> LearnResult:
    """Fit ``model`` to tell ``target``'s members from the other customers (identified
    people unless ``include_anonymous``), test it on a held-out quarter (stratified), and
    explain it."""
    if model not in MODELS:
        raise InvalidInput(f"model must be one of {', '.join(MODELS)}, got {model!r}",
                           field="model")
    members, at = target_members(source, target, as_of=as_of, lookup=lookup, known=known)
    frame, population = clustering_frame(source, as_of=at, features="all",
                                         include_anonymous=include_anonymous)
    y = frame.index.isin(set(members)).astype(int)
    positives, n = int(y.sum()), len(y)
    if min(positives, n - positives) < _MIN_CLASS:
        raise InvalidInput(
            f"{positives} of the {n} customers are in {target!r}: learning needs at least "
            f"{_MIN_CLASS} customers in it and {_MIN_CLASS} outside it", field="target")
    train_x, test_x, train_y, test_y = train_test_split(
        frame, y, test_size=test_size, stratify=y, random_state=random_state)
    estimator: SegmentTree | SegmentLogistic = (
        SegmentTree(select=select, k_features=k_features, random_state=random_state)
        if model == "tree" else
        SegmentLogistic(select=select, k_features=k_features, random_state=random_state))
    estimator.fit(train_x, train_y)
    pred = estimator.predict(test_x)
    proba = estimator.predict_proba(test_x)[:, -1]
    majority = int(train_y.mean() >= 0.5)
    metrics = {"customers": n, "members": positives, "train": len(train_y),
               "test": len(test_y), **_metrics(test_y, pred, proba),
               "baseline_accuracy": round(float((test_y == majority).mean()), 4)}
    when = at if at is not None else resolve_as_of(source, None)[0]
    return LearnResult(target=target, model=estimator, metrics=metrics,
                       explanation=estimator.explain(), as_of=when, population=population)

