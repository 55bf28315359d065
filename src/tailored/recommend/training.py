"""Training from the store: snapshot, fit, save with what it was trained on."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tailored.errors import CatalogChanged, InvalidInput, NotFound, TailoredError
from tailored.recommend.base import Filters, Recommender
from tailored.recommend.catalog import CatalogView
from tailored.recommend.interactions import Interactions, Weights
from tailored.recommend.model_store import ModelStore
from tailored.recommend.registry import MODELS
from tailored.recommend.side import SideData
from tailored.store import Store
from tailored.store.tables import items as catalog_items

__all__ = [
    "ModelCache",
    "check_catalog",
    "recommendations_for",
    "similar_for",
    "train_from_store",
    "with_item_fields",
]


def train_from_store(
    store: Store, name: str, models: ModelStore, *, params: dict[str, Any] | None = None,
    weights: Weights | None = None,
) -> tuple[Recommender, dict[str, Any]]:
    """Fit model ``name`` on a fresh snapshot of the store and save it with the store's
    models (``models``, from :func:`open_models`)."""
    if name not in MODELS:
        raise InvalidInput(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}",
                           field="model")
    # Imported here: serving a list (recommend, the API) needs no snapshot machinery.
    from tailored.store.snapshots import export_snapshot

    model = MODELS[name](**(params or {}))
    catalog_version = store.catalog_version()
    with tempfile.TemporaryDirectory(prefix="tailored-snapshot-") as tmp:
        manifest = export_snapshot(store, Path(tmp))
        if manifest["tables"]["interactions"] == 0:
            raise InvalidInput("the store has no person-item interactions to learn from: "
                               "ingest or import events with a product_id first",
                               field="interactions")
        data = Interactions.from_snapshot(Path(tmp), weights)
        catalog = CatalogView.from_snapshot(Path(tmp), data.item_ids)
        model.with_side(SideData.from_snapshot(Path(tmp)))
        started = time.perf_counter()
        model.fit(data, catalog)
        seconds = time.perf_counter() - started
    metadata = {
        "model": name, "params": model.get_params(),
        "trained_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "train_seconds": round(seconds, 3), "snapshot": manifest,
        "users": len(data.user_ids), "items": len(data.item_ids),
        "interactions": int(data.matrix.nnz), "catalog_version": catalog_version,
    }
    chosen = model.choice()
    if chosen is not None:
        metadata["chosen"] = chosen
    metadata["path"] = models.save(model, metadata)
    return model, metadata


def check_catalog(model: Recommender, store: Store) -> None:
    """Refuse a model trained on another version of the catalogue, saying to retrain."""
    trained_on = model.metadata_.get("catalog_version")
    now = store.catalog_version()
    if trained_on is not None and trained_on != now:
        name = model.metadata_.get("model", model.name)
        raise CatalogChanged(
            f"the catalogue changed since {name!r} was trained (items:updated then "
            f"{trained_on}, now {now}): run `tailored train --model {name}`")


def recommendations_for(
    recommender: Recommender, store: Store, person: str, k: int, filters: Filters
) -> dict[str, Any]:
    """What ``tailored recommend`` and ``GET /v1/recommendations`` answer: the list for any
    identity of a person (an unknown one gets the cold-start list) and their preferences."""
    check_catalog(recommender, store)
    try:
        profile_id: str | None = store.find_profile(person)
    except NotFound:
        profile_id = None
    who = profile_id or person
    items = with_item_fields(store, [r.to_dict() for r in recommender.recommend(who, k, filters)])
    answer = {"user": person, "profile_id": profile_id,
              "model": recommender.metadata_.get("model", recommender.name), "items": items,
              "preferences": recommender.preferences(who)}
    if not items:
        answer["note"] = recommender.why_empty(who, filters)
    return answer


def similar_for(recommender: Recommender, store: Store, item: str, k: int) -> dict[str, Any]:
    """What ``tailored similar`` and ``GET /v1/items/{id}/similar`` answer: the items most
    like ``item`` by this model, with their catalogue fields."""
    check_catalog(recommender, store)
    items = with_item_fields(store, [r.to_dict() for r in recommender.similar_items(item, k)])
    asked = with_item_fields(store, [{"item_id": item}])[0]
    asked.pop("item_id")
    return {"item": item, "model": recommender.metadata_.get("model", recommender.name),
            **asked, "items": items}


# What a page needs to show an item, beside its id: read from the catalogue when answering,
# so a price or an image changed since training shows as it is now.
_URL_ATTRIBUTES = ("url", "link", "href")


def with_item_fields(store: Store, items: list[dict[str, Any]], *,
                     cache: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """``items`` (dicts with ``item_id``) with each one's title, and its category, brand,
    price, currency, image and page URL where the catalogue knows them. ``cache`` (item id
    → fields) keeps what was read for the next call: a campaign reads each item once."""
    ids = [str(i["item_id"]) for i in items]
    if not ids:
        return items
    known = cache if cache is not None else {}
    missing = [i for i in ids if i not in known]
    if missing:
        with store.reading() as conn:
            rows = {r.item_id: r for r in conn.execute(
                sa.select(catalog_items.c.item_id, catalog_items.c.title,
                          catalog_items.c.category, catalog_items.c.brand,
                          catalog_items.c.price, catalog_items.c.currency,
                          catalog_items.c.image_url, catalog_items.c.attributes)
                .where(catalog_items.c.item_id.in_(missing)))}
        for item_id in missing:
            known[item_id] = _fields(rows.get(item_id))
    return [{**item, **known[str(item["item_id"])]} for item in items]


def _fields(row: Any) -> dict[str, Any]:
    if row is None:
        return {"title": None}
    attributes = row.attributes or {}
    url = next((attributes[a] for a in _URL_ATTRIBUTES
                if isinstance(attributes.get(a), str)), None)
    fields = {"title": row.title, "category": list(row.category or []) or None,
              "brand": row.brand, "price": row.price, "currency": row.currency,
              "image_url": row.image_url, "url": url}
    return {k: v for k, v in fields.items() if v is not None or k == "title"}


class ModelCache:
    """Trained models loaded once, and again when a retrain (or an erasure) rewrites them.

    Keyed by the model's canonical name only: a request names a trained model or is refused
    (see :meth:`ModelStore.resolve`), so no spelling of a name loads a second copy."""

    def __init__(self, models: ModelStore, *,
                 on_load: Callable[[Recommender], None] | None = None) -> None:
        self.models = models
        self._models: dict[str, tuple[object, Recommender]] = {}
        self._lock = threading.Lock()
        # Called with each model loaded (first use, or a retrain's new copy) before it is
        # returned, outside the cache's lock: a server folds in what came since training.
        self.on_load = on_load

    def get(self, name: str | None = None, default: str | None = None) -> Recommender:
        """The model ``name`` (else ``default``, else the one trained last), loaded once."""
        name = self.models.resolve(name, default)
        stamp = self.models.stamp(name)
        loaded = None
        with self._lock:
            cached = self._models.get(name)
            if cached is None or cached[0] != stamp:
                cached = (stamp, self.models.load(name))
                self._models[name] = cached
                loaded = cached[1]
        if loaded is not None and self.on_load is not None:
            self.on_load(loaded)
        return cached[1]

    def loaded(self) -> list[Recommender]:
        with self._lock:
            return [model for _, model in self._models.values()]

    def forget(self, ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Erasure: remove people (by the ids models know them by) from every trained model,
        the saved copy and the loaded one. Returns the models that held them, and a line for
        each model that could not be rewritten. The loaded copy is changed in place and kept
        (the fold-ins of everyone else survive); a copy loaded elsewhere sees the saved one
        change and reloads it."""
        ids = frozenset(ids)
        changed: list[str] = []
        problems: list[str] = []
        for name in self.models.names():
            try:
                with self._lock:
                    stamp = self.models.stamp(name)
                    cached = self._models.get(name)
                    model = cached[1] if cached is not None and cached[0] == stamp \
                        else self.models.load(name)
                    if model.forget(ids) == 0:
                        continue
                    self.models.save(model, model.metadata_)
                    self._models[name] = (self.models.stamp(name), model)
                changed.append(name)
            except (OSError, TailoredError) as error:
                problems.append(f"the trained model {name!r} could not be rewritten and may "
                                f"still hold them ({error}): run `tailored train --model "
                                f"{name}`")
        return changed, problems

    def serving(self, default: str | None = None) -> list[Recommender]:
        """The loaded models and the default one (loaded now if it has been trained), so a
        person's first events reach the model that will answer their first request."""
        # Nothing trained yet (or a default that is not): nothing to keep fresh.
        with contextlib.suppress(NotFound, InvalidInput):
            self.get(None, default)
        return self.loaded()
