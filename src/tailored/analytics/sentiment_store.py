"""Where a store's Chinese sentiment model is kept: with the store, as its recommenders are —
``sentiment-zh.npz`` in the models folder beside a SQLite file (or the ``models_dir``
setting), a row of the ``trained_models`` table in a PostgreSQL store — never in whatever
folder a command happens to run in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tailored.store.tables import trained_models

if TYPE_CHECKING:
    from tailored.analytics.sentiment import ChineseSentiment
    from tailored.store import Store

__all__ = ["SENTIMENT_MODEL", "load_sentiment_model", "save_sentiment_model",
           "sentiment_model_location"]

SENTIMENT_MODEL = "sentiment-zh"


def _table_store(store: Store | None) -> Store:
    if store is None:
        raise ValueError("a store whose models are not files needs its Store")
    return store


def sentiment_model_location(store: Store | None, folder: Path | None) -> str:
    """Where the model is (or would be): a file path, or the table row."""
    if folder is not None:
        return str(Path(folder) / f"{SENTIMENT_MODEL}.npz")
    return f"table trained_models of {_table_store(store).url}, row {SENTIMENT_MODEL!r}"


def save_sentiment_model(model: ChineseSentiment, store: Store | None,
                         folder: Path | None) -> str:
    """Keep ``model`` with the store: in ``folder`` when the store's models are files (then
    ``store`` may be None), else in the store's table. Returns where it went."""
    if folder is not None:
        return str(model.save(Path(folder) / f"{SENTIMENT_MODEL}.npz"))
    store = _table_store(store)
    data = model.to_bytes()
    now = datetime.now(UTC)
    with store.transaction() as conn:
        conn.execute(sa.delete(trained_models).where(trained_models.c.name == SENTIMENT_MODEL))
        conn.execute(sa.insert(trained_models), {
            "name": SENTIMENT_MODEL, "trained_at": now, "saved_at": now,
            "size_bytes": len(data), "data": data})
    return sentiment_model_location(store, None)


def load_sentiment_model(store: Store | None, folder: Path | None
                         ) -> ChineseSentiment | None:
    """The store's model, or None when none has been trained."""
    from tailored.analytics.sentiment import ChineseSentiment

    if folder is not None:
        path = Path(folder) / f"{SENTIMENT_MODEL}.npz"
        return ChineseSentiment.load(path) if path.is_file() else None
    store = _table_store(store)
    with store.reading() as conn:
        data = conn.execute(sa.select(trained_models.c.data)
                            .where(trained_models.c.name == SENTIMENT_MODEL)).scalar()
    if data is None:
        return None
    return ChineseSentiment.from_bytes(bytes(data), sentiment_model_location(store, None))
