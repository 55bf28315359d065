"""Where a store's trained models live: beside a SQLite file (``<db>.models/``), in the
database itself (a table) for PostgreSQL, or in a folder the settings name.

One small interface, whatever the place: ``names``, ``latest``, ``resolve``, ``load``,
``save`` and ``stamp``. A model is saved under its registry name (``ease``, ``item-knn``),
and only those names are ever looked up: a name is checked against what is trained before
it touches a path or a row, so ``../x`` or ``/etc/x`` never reaches the file system.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.errors import InvalidInput, NotFound
from tailored.recommend.persistence import load_model, model_bytes, read_header, save_model
from tailored.store.tables import trained_models

if TYPE_CHECKING:
    from tailored.recommend.base import Recommender
    from tailored.store import Store

__all__ = ["FolderModels", "ModelStore", "TableModels", "open_models"]

SUFFIX = ".npz"


class ModelStore(ABC):
    """The trained models of one store."""

    location: str

    @abstractmethod
    def trained(self) -> dict[str, str]:
        """Each trained model's name and when it was trained (ISO time), oldest first."""

    @abstractmethod
    def stamp(self, name: str) -> object | None:
        """A token that changes whenever the saved model ``name`` changes; None if absent."""

    @abstractmethod
    def _load(self, name: str) -> Recommender: ...

    @abstractmethod
    def _save(self, name: str, model: Recommender, metadata: dict[str, Any]) -> str: ...

    def names(self) -> list[str]:
        return sorted(self.trained())

    def latest(self) -> str | None:
        """The model trained last: what ``recommend`` uses unless told."""
        trained = self.trained()
        return list(trained)[-1] if trained else None

    def resolve(self, name: str | None, default: str | None = None) -> str:
        """The trained model a request means: ``name`` if it is one, else the configured
        default, else the one trained last. A name that is not trained is refused, naming
        the trained ones."""
        trained = self.names()
        wanted = name or default
        if wanted is None:
            latest = self.latest()
            if latest is None:
                raise NotFound(f"no model is trained for this store yet ({self.location}): "
                               "run `tailored train --model item-knn` (or another model)")
            return latest
        if wanted in trained:
            return wanted
        from tailored.recommend.registry import MODELS

        have = f"trained: {', '.join(trained)}" if trained else "none is trained yet"
        if wanted in MODELS:
            raise NotFound(f"no trained {wanted!r} model for this store ({have}): run "
                           f"`tailored train --model {wanted}`")
        close = difflib.get_close_matches(wanted, [*trained, *MODELS], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        shown = wanted if len(wanted) <= 80 else wanted[:77] + "..."
        raise InvalidInput(f"unknown model {shown!r} ({have}{hint})", field="model")

    def load(self, name: str) -> Recommender:
        return self._load(self.resolve(name))

    def save(self, model: Recommender, metadata: dict[str, Any] | None = None) -> str:
        """Save ``model`` under its registry name; returns where it went. ``metadata`` keeps
        its ``trained_at`` (an erasure rewriting a model does not make it the newest)."""
        metadata = dict(metadata or {})
        metadata.setdefault("trained_at", datetime.now(UTC).isoformat(timespec="microseconds"))
        name = str(metadata.setdefault("model", model.name))
        return self._save(name, model, metadata)


def _checked(name: str) -> str:
    """A model's own name, safe as a file name (registry names are; this guards the rule)."""
    from tailored.recommend.registry import MODELS

    if name not in MODELS:
        raise InvalidInput(f"unknown model {name!r}", field="model")
    return name


class FolderModels(ModelStore):
    """One ``<name>.npz`` per model in a folder, memory-mapped when loaded."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.location = str(self.folder)
        self._times: dict[str, tuple[object, str]] = {}

    def _path(self, name: str) -> Path:
        return self.folder / f"{_checked(name)}{SUFFIX}"

    def trained(self) -> dict[str, str]:
        from tailored.recommend.registry import MODELS

        found: list[tuple[str, float, str]] = []
        if self.folder.is_dir():
            for path in self.folder.glob(f"*{SUFFIX}"):
                name = path.name[: -len(SUFFIX)]
                stamp = self.stamp(name) if name in MODELS else None
                if stamp is None:
                    continue
                cached = self._times.get(name)
                if cached is None or cached[0] != stamp:
                    try:
                        when = str(read_header(path)["metadata"].get("trained_at", ""))
                    except (InvalidInput, KeyError, OSError):
                        continue  # a half-copied or foreign file is not a trained model
                    cached = self._times[name] = (stamp, when)
                found.append((cached[1], path.stat().st_mtime, name))
        return {name: when for when, _, name in sorted(found)}

    def stamp(self, name: str) -> object | None:
        try:
            st = self._path(name).stat()
        except (FileNotFoundError, InvalidInput):
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load(self, name: str) -> Recommender:
        return load_model(self._path(name))

    def _save(self, name: str, model: Recommender, metadata: dict[str, Any]) -> str:
        path = self._path(name)
        save_model(model, path, metadata)
        return str(path)


class TableModels(ModelStore):
    """Models as rows of the store's ``trained_models`` table (PostgreSQL stores)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.location = f"table trained_models of {store.url}"

    def trained(self) -> dict[str, str]:
        from tailored.recommend.registry import MODELS

        with self.store.reading() as conn:
            rows = conn.execute(sa.select(trained_models.c.name, trained_models.c.trained_at)
                                .order_by(trained_models.c.trained_at, trained_models.c.saved_at)
                                ).all()
        # Recommenders only: the table keeps other models of the store too (sentiment-zh).
        return {r.name: r.trained_at.isoformat(timespec="microseconds") for r in rows
                if r.name in MODELS}

    def stamp(self, name: str) -> object | None:
        with self.store.reading() as conn:
            return conn.execute(sa.select(trained_models.c.saved_at)
                                .where(trained_models.c.name == name)).scalar()

    def _load(self, name: str) -> Recommender:
        with self.store.reading() as conn:
            data = conn.execute(sa.select(trained_models.c.data)
                                .where(trained_models.c.name == name)).scalar()
        if data is None:
            raise NotFound(f"no trained {name!r} model for this store")
        return load_model(bytes(data))

    def _save(self, name: str, model: Recommender, metadata: dict[str, Any]) -> str:
        data = model_bytes(model, metadata)
        trained_at = datetime.fromisoformat(str(metadata["trained_at"]))
        row = {"name": _checked(name), "trained_at": trained_at,
               "saved_at": datetime.now(UTC), "size_bytes": len(data), "data": data}
        with self.store.transaction() as conn:
            conn.execute(sa.delete(trained_models).where(trained_models.c.name == name))
            conn.execute(sa.insert(trained_models), row)
        return f"{self.location}, row {name!r}"


def open_models(store: Store, folder: Path | None = None) -> ModelStore:
    """The trained models of ``store``: as files in ``folder`` (``Settings.models_folder()``:
    the configured folder, or ``<db>.models`` beside a SQLite file), else in the store's own
    table (PostgreSQL)."""
    return FolderModels(folder) if folder is not None else TableModels(store)
