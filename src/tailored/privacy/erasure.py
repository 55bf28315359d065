"""Erasing a person everywhere: the store, its kept snapshot and every trained model.

The store erases its rows in one transaction (and on SQLite truncates its write-ahead log);
what lies outside the database follows: the snapshot's days that held the person are
rebuilt, and each trained model forgets them (saved and loaded copies). The CLI's ``erase``
and ``DELETE /v1/profiles/{id}`` both come here, so neither can forget a place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tailored.realtime.changes import Change
from tailored.recommend.model_store import open_models
from tailored.recommend.training import ModelCache
from tailored.store.snapshots import refresh_if_present

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.realtime.changes import Publisher
    from tailored.store import Store

__all__ = ["erase_everywhere"]


def erase_everywhere(
    store: Store, settings: Settings, identifier: str, *, all_matches: bool = False,
    models: ModelCache | None = None, publisher: Publisher | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Erase the person ``identifier`` names (see :meth:`Store.erase_person` for who that is
    and the answer's shape) from the store, its snapshot and its models.

    ``models`` is the process's loaded models (a server's), changed in place; without it the
    saved models are rewritten. Returns the answer and the names of the models that held the
    person. What could not be done after the commit is in the answer's ``"warnings"``.
    """
    erasure = store.erase(identifier, all_matches=all_matches)
    answer = erasure.answer
    if publisher is not None:
        erased = tuple(e["profile_id"] for e in answer["erased"])
        publisher.publish(Change(erased=erased))
    warnings: list[str] = list(answer.pop("warnings", []))
    refresh_if_present(store, settings.store_snapshot_dir())
    cache = models or ModelCache(open_models(store, settings.models_folder()))
    forgotten, problems = cache.forget(erasure.ids)
    warnings += problems
    if warnings:
        answer["warnings"] = warnings
    return answer, forgotten
