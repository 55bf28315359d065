"""A person's live profile: counters kept exact event by event.

The state is a fold over the person's events in time order (then messageId, the order the
analytics' sessions use): events by name, orders and revenue (an order and its value as
:mod:`tailored.events.orders` defines them), items viewed / carted / bought (the
interaction lines of :func:`tailored.store.snapshots.interaction_rows`, as the one-person
metrics count them), sessions (a new one after more than
:data:`tailored.analytics.sessions.DEFAULT_GAP_MINUTES` of inactivity, back-end calls left
out), first and last seen, the last event's platform and device type, and the current cart
(added minus removed minus ordered, per item, never below empty).

An event later than everything counted is folded in; an earlier one (a late event) or a
merge makes the person's state be recomputed from their stored events, since sessions, the
cart and the last platform depend on order. :func:`recount` is that recomputation, and the
live state always equals it once every event is handled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tailored.events.names import EventName
from tailored.events.orders import ORDER_EVENTS, order_value
from tailored.store.snapshots import interaction_rows
from tailored.store.tables import events, live_profiles, profiles
from tailored.store.writes import upsert

__all__ = ["EVENT_COLUMNS", "LiveProfiles", "fold", "new_state", "public_view", "read_live",
           "recount", "recount_profile"]

#: Session gap: the analytics' default (``tailored.analytics.sessions.DEFAULT_GAP_MINUTES``,
#: not imported so the real-time path does not load Ibis).
SESSION_GAP = timedelta(minutes=30.0)
_ADDS = frozenset({EventName.PRODUCT_ADDED.value, EventName.WISHLIST_PRODUCT_ADDED_TO_CART.value})
_REMOVES = frozenset({EventName.PRODUCT_REMOVED.value})
_ORDERS = frozenset(ORDER_EVENTS)

#: The event columns a live profile reads.
EVENT_COLUMNS = (events.c.id, events.c.message_id, events.c.type, events.c.event,
                 events.c.profile_id, events.c.platform, events.c.timestamp,
                 events.c.properties, events.c.context, events.c.received_at)


def _iso(t: datetime) -> str:
    # Fixed width, UTC: the text sorts as the times do.
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def new_state() -> dict[str, Any]:
    return {"event_count": 0, "events": {}, "orders": 0, "revenue": 0.0, "items_viewed": 0,
            "items_carted": 0, "items_bought": 0, "sessions": 0, "first_seen": None,
            "last_seen": None, "last_platform": None, "last_device": None, "cart": [],
            "_last": None, "_session_last": None}


def _key(row: Any) -> list[str]:
    return [_iso(row.timestamp), row.message_id]


def _device_type(context: Any) -> str | None:
    device = context.get("device") if isinstance(context, dict) else None
    kind = device.get("type") if isinstance(device, dict) else None
    return str(kind) if kind is not None else None


def fold(state: dict[str, Any], row: Any) -> dict[str, Any]:
    """Count one event that comes after everything ``state`` holds (changed in place)."""
    when = _iso(row.timestamp)
    name = row.event if row.type == "track" and row.event else row.type
    state["event_count"] += 1
    state["events"][name] = state["events"].get(name, 0) + 1
    if state["first_seen"] is None or when < state["first_seen"]:
        state["first_seen"] = when
    if state["last_seen"] is None or when > state["last_seen"]:
        state["last_seen"] = when
    state["_last"] = _key(row)
    state["last_platform"] = row.platform
    state["last_device"] = _device_type(row.context)
    if row.platform != "server":
        last = state["_session_last"]
        if last is None or row.timestamp - datetime.fromisoformat(last) > SESSION_GAP:
            state["sessions"] += 1
        state["_session_last"] = when
    if row.type != "track" or not row.event:
        return state
    lines = list(interaction_rows(row))
    for line in lines:
        signal = line["signal"]
        if signal == "view":
            state["items_viewed"] += 1
        elif signal == "cart":
            state["items_carted"] += 1
        elif signal == "order":
            state["items_bought"] += 1
    if row.event in _ORDERS:
        state["orders"] += 1
        value = order_value(row.properties or {},
                            (x["value"] for x in lines if x["signal"] == "order"))
        state["revenue"] += value if value is not None else 0.0
    if row.event in _ADDS or row.event in _REMOVES or row.event in _ORDERS:
        cart: dict[str, float] = dict(state["cart"])
        sign = 1.0 if row.event in _ADDS else -1.0
        for line in lines:
            item = line["item_id"]
            left = cart.get(item, 0.0) + sign * (line["quantity"] or 1.0)
            if left > 0:
                cart[item] = left
            else:
                cart.pop(item, None)
        state["cart"] = [[item, qty] for item, qty in cart.items()]
    return state


def recount(rows: Iterable[Any]) -> dict[str, Any] | None:
    """The live state of a person with these events (None for none)."""
    state = None
    for row in sorted(rows, key=_key):
        state = fold(state or new_state(), row)
    return state


def public_view(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``live`` document of a profile: the state less its bookkeeping."""
    if state is None:
        return None
    out = {k: v for k, v in state.items() if not k.startswith("_")}
    out["cart"] = [item for item, _ in state["cart"]]
    return out


def _person_rows(conn: sa.Connection, pid: str) -> Sequence[Any]:
    return conn.execute(sa.select(*EVENT_COLUMNS).where(events.c.profile_id == pid)).all()


def recount_profile(conn: sa.Connection, pid: str) -> dict[str, Any] | None:
    """A person's live state recounted from every stored event of theirs."""
    return recount(_person_rows(conn, pid))


def read_live(conn: sa.Connection, pid: str) -> dict[str, Any] | None:
    return conn.scalar(sa.select(live_profiles.c.state).where(live_profiles.c.profile_id == pid))


class LiveProfiles:
    """Keeps the live_profiles table current inside a consumer's transaction."""

    def __init__(self, conn: sa.Connection, handled: Callable[[int], bool]) -> None:
        self.conn = conn
        self.handled = handled  # whether an event id counts (handled before, or now)
        self.updated: set[str] = set()
        self.deferred = 0  # people marked stale by this object

    def apply(self, rows: Sequence[Any], moved: Iterable[str] = (), *,
              defer_late: bool = False) -> set[str]:
        """Count newly handled events; recompute the people merges and relinks touched
        (``moved``: both sides of each). Returns the profiles whose row changed.

        An event older than the person's latest counted one means recounting them from
        their history. With ``defer_late`` (a catch-up with more backlog to come: an import
        read back in time order per person, batch after batch) the person is marked stale
        instead and recounted once by :meth:`recount_stale` when the backlog is drained —
        not once a batch, which made catching up on an import quadratic in history."""
        recompute = self._canonical(set(moved))
        by_person: dict[str, list[Any]] = {}
        for row in rows:
            by_person.setdefault(row.profile_id, []).append(row)
        additive = [pid for pid in by_person if pid not in recompute]
        states = dict(self.conn.execute(
            sa.select(live_profiles.c.profile_id, live_profiles.c.state)
            .where(live_profiles.c.profile_id.in_(additive))).all()) if additive else {}
        out: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        for pid in additive:
            stored = states.get(pid)
            if stored is not None and stored.get("_stale"):
                if not defer_late:
                    recompute.add(pid)
                continue  # already waiting for its recount
            state = stored or new_state()
            ordered = sorted(by_person[pid], key=_key)
            if state["_last"] is not None and _key(ordered[0]) < state["_last"]:
                if defer_late and stored is not None:
                    out.append({"profile_id": pid, "state": {**stored, "_stale": True},
                                "updated_at": now})
                    self.deferred += 1
                else:
                    recompute.add(pid)
                continue
            for row in ordered:
                fold(state, row)
            out.append({"profile_id": pid, "state": state, "updated_at": now})
        for pid in sorted(recompute):
            state = recount([r for r in _person_rows(self.conn, pid) if self.handled(r.id)])
            if state is None:
                self.conn.execute(live_profiles.delete()
                                  .where(live_profiles.c.profile_id == pid))
            else:
                out.append({"profile_id": pid, "state": state, "updated_at": now})
        upsert(self.conn, live_profiles, out, ["profile_id"])
        changed = set(by_person) | recompute
        self.updated |= changed
        return changed

    def recount_stale(self) -> set[str]:
        """Recount everyone marked stale by a deferred late event; who was recounted."""
        stale = list(self.conn.scalars(sa.select(live_profiles.c.profile_id).where(
            live_profiles.c.state["_stale"].as_boolean().is_(True))))
        if not stale:
            return set()
        return self.apply([], stale)

    def _canonical(self, pids: set[str]) -> set[str]:
        if not pids:
            return set()
        rows = self.conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                                 .where(profiles.c.profile_id.in_(sorted(pids)))).all()
        return pids | {into for _, into in rows if into is not None}
