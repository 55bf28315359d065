"""Fresh within moments: a person's new events reach loaded models without retraining."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from tailored.events import ValidEvent
from tailored.recommend.base import Recommender
from tailored.recommend.interactions import Weights
from tailored.store.snapshots import interaction_rows

__all__ = ["fold_in", "fold_in_rows"]


def fold_in(models: Iterable[Recommender], attributed: Iterable[tuple[str, ValidEvent]],
            weights: Weights | None = None) -> int:
    """Update every model with the item interactions in these events; returns how many
    people changed. Items are weighted exactly as training weighs them."""
    rows = (SimpleNamespace(type=v.event.type, properties=v.event.properties,
                            event=v.event.event, profile_id=profile_id, timestamp=v.timestamp,
                            platform=v.platform, message_id=v.message_id)
            for profile_id, v in attributed)
    return fold_in_rows(models, rows, weights)


def fold_in_rows(models: Iterable[Recommender], rows: Iterable[Any],
                 weights: Weights | None = None) -> int:
    """:func:`fold_in` for stored event rows (``type``, ``event``, ``properties``,
    ``profile_id``, ``timestamp``, ``platform``, ``message_id``): how a serving process
    folds in events another process ingested, read from the store by id."""
    weights = weights or Weights()
    per_person: dict[str, tuple[list[str], list[float], list[str | None]]] = defaultdict(
        lambda: ([], [], []))
    for row in rows:
        if row.type != "track":
            continue
        # The same reading of an event into interactions as the snapshot's.
        for ix in interaction_rows(row):
            w = weights.of(ix["signal"], ix["rating"], ix["value"])
            if w > 0:
                items, ws, signals = per_person[row.profile_id]
                items.append(ix["item_id"])
                ws.append(w)
                signals.append(ix["signal"])
    models = list(models)
    for profile_id, (items, ws, signals) in per_person.items():
        for model in models:
            model.update(profile_id, items, ws, signals)
    return len(per_person)
