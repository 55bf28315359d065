"""Computed traits written back to profiles: scores, predictions, group names.

Predictions and segments (``purchase_propensity``, ``churn_risk``, ``clv``, ``rfm_group``...)
become ordinary traits, so rule segments, campaigns and recommendations read them like any
trait a customer's own ``identify`` set. They follow the store's trait rules: each trait has
the time it was set (``trait_times``) and a newer value wins, trait by trait; personal fields
pass through the :class:`~tailored.store.personal.PersonalData` codec.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tailored.errors import InvalidInput
from tailored.identity import parse_trait_time, trait_time_text
from tailored.store.store import Store
from tailored.store.tables import profiles
from tailored.store.writes import invalidate_graph

__all__ = ["write_traits"]

# Well under SQLite's limit of host parameters in one statement.
_BATCH = 900
_MAX_NAMED = 10


def _check_value(pid: str, name: str, value: Any) -> Any:
    """A trait value as JSON takes it; NaN and infinity have no JSON form."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidInput(f"trait {name!r} of profile {pid!r} is {value!r}: a trait must "
                               "be a finite number", field=f"updates.{pid}.{name}")
        # NumPy scalars (a model's output) become plain Python numbers.
        return int(value) if isinstance(value, int) else number
    if hasattr(value, "item") and callable(value.item):
        return _check_value(pid, name, value.item())
    if isinstance(value, list | tuple):
        return [_check_value(pid, name, v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _check_value(pid, name, v) for k, v in value.items()}
    raise InvalidInput(f"trait {name!r} of profile {pid!r} is a {type(value).__name__}: "
                       "traits hold text, numbers, booleans, lists and objects",
                       field=f"updates.{pid}.{name}")


def _checked(updates: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for pid, traits in updates.items():
        if not isinstance(pid, str) or not pid:
            raise InvalidInput(f"profile ids must be non-empty text, got {pid!r}",
                               field="updates")
        if not isinstance(traits, Mapping):
            raise InvalidInput(f"the traits of profile {pid!r} must be a mapping of name to "
                               f"value, got {type(traits).__name__}", field=f"updates.{pid}")
        clean: dict[str, Any] = {}
        for name, value in traits.items():
            if not isinstance(name, str) or not name.strip():
                raise InvalidInput(f"profile {pid!r} has a trait with no name ({name!r})",
                                   field=f"updates.{pid}")
            clean[name] = _check_value(pid, name, value)
        out[pid] = clean
    return out


def write_traits(
    store: Store, updates: Mapping[str, Mapping[str, Any]], *, at: datetime | None = None
) -> int:
    """Set traits on profiles, in one transaction; returns how many profiles changed.

    ``updates`` maps a profile id to the traits to set on it. A profile merged into another
    passes its traits to the survivor. Each trait is set as of ``at`` (default: now) and,
    as with traits from events, only where the profile's value is not newer. Unknown profile
    ids are an :class:`~tailored.errors.InvalidInput` naming them, and nothing is written.
    """
    checked = _checked(updates)
    if not checked:
        return 0
    set_at = parse_trait_time(at or datetime.now(UTC))
    key = trait_time_text(set_at)
    personal = store.personal
    with store.transaction() as conn:
        found: dict[str, Any] = {}
        ids = sorted(checked)
        for i in range(0, len(ids), _BATCH):
            rows = conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                                .where(profiles.c.profile_id.in_(ids[i:i + _BATCH])))
            found.update({r.profile_id: r.merged_into or r.profile_id for r in rows})
        missing = [pid for pid in ids if pid not in found]
        if missing:
            named = ", ".join(repr(m) for m in missing[:_MAX_NAMED])
            more = f" and {len(missing) - _MAX_NAMED} more" if len(missing) > _MAX_NAMED else ""
            raise InvalidInput(f"no profile with the id {named}{more}; nothing was written",
                               field="profile_id")
        # Merged ids resolve to their survivor; several may name one person.
        wanted: dict[str, dict[str, Any]] = {}
        for pid in ids:
            wanted.setdefault(found[pid], {}).update(checked[pid])
        targets = sorted(wanted)
        current: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        for i in range(0, len(targets), _BATCH):
            rows = conn.execute(sa.select(profiles.c.profile_id, profiles.c.traits,
                                          profiles.c.trait_times)
                                .where(profiles.c.profile_id.in_(targets[i:i + _BATCH])))
            current.update({r.profile_id: (personal.reveal_traits(r.traits or {}),
                                           dict(r.trait_times or {})) for r in rows})
        changes = []
        for pid in targets:
            traits, times = current[pid]
            changed = False
            for name, value in wanted[pid].items():
                # Last write wins by time, as for traits from identify events. A value the
                # profile already holds is left as it is, time and all: re-running a model
                # whose answers did not change writes nothing (no rewritten profiles, no
                # stale-cache signal to every process, no snapshot side tables to redo).
                if parse_trait_time(times.get(name)) <= set_at and (name not in traits
                                                                   or traits[name] != value):
                    traits[name], times[name] = value, key
                    changed = True
            if changed:
                changes.append({"pid": pid, "new_traits": personal.protect_traits(traits),
                                "new_trait_times": times})
        if changes:
            conn.execute(profiles.update()
                         .where(profiles.c.profile_id == sa.bindparam("pid"))
                         .values(traits=sa.bindparam("new_traits"),
                                 trait_times=sa.bindparam("new_trait_times")), changes)
            # Ingest processes cache profiles between chunks; a new graph version tells them
            # their copies are stale, so a later event cannot write old traits back.
            invalidate_graph(conn)
    return len(changes)
