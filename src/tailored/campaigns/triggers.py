"""Triggered campaigns ride the real-time subscriptions: when a person does the trigger
event (or enters or leaves the segment: the Segment Entered / Exited events live segments
record), the worker checks them against the campaign's audience and judges them like any
send, and queues their message *held* until the trigger's time plus its delay — or, with
"unless EVENT within DURATION", until that window has passed. When it is due, the message
is cancelled if the unless event came in the window (cart abandoned: Product Added, unless
Order Completed within 1 h), else sent. The worker's due-time turns send what is due.

A triggered campaign reaches a person once (one outbox row per campaign, step and person):
a welcome is sent once however often its trigger recurs.
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.events.names import SEGMENT_ENTERED, SEGMENT_EXITED
from tailored.store.tables import campaigns, events

if TYPE_CHECKING:
    from tailored.campaigns.definitions import CampaignSpec
    from tailored.config import Settings
    from tailored.realtime.subscriptions import Notice
    from tailored.store import Store

__all__ = ["INTEREST_EVENTS", "handle_item_changes", "install", "trigger_due_at",
           "trigger_fired", "trigger_warnings", "unless_happened"]

log = logging.getLogger("tailored.campaigns")


def trigger_warnings(store: Store, trigger: dict[str, Any]) -> list[str]:
    """A trigger on an event name never seen: a warning naming close matches (it may be
    right — the first such event has not come yet — so it is kept)."""
    from tailored.segments.definitions import known_event_names

    # A call type names a trigger too (welcome on the first identify).
    known = known_event_names(store) | {"identify", "page", "screen", "group", "alias"}
    out = []
    for key in ("event", "unless"):
        name = trigger.get(key)
        if name and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            out.append(f"--{'trigger' if key == 'event' else key} {name!r}: no such event "
                       f"has been seen{hint}")
    return out


_CACHE_SECONDS = 2.0
_cache: dict[int, tuple[float, list[CampaignSpec]]] = {}


def _triggered(store: Store) -> list[CampaignSpec]:
    """The triggered campaigns (read at most every 2 s: every event asks)."""
    from tailored.campaigns.definitions import CampaignSpec

    hit = _cache.get(id(store))
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    with store.reading() as conn:
        specs = conn.scalars(sa.select(campaigns.c.spec)
                             .where(campaigns.c.status == "triggered")).all()
    found = [CampaignSpec.model_validate(s) for s in specs]
    _cache[id(store)] = (time.monotonic(), found)
    return found


def _fires(spec: CampaignSpec, notice: Notice) -> bool:
    t = spec.trigger
    assert t is not None
    if t.item is not None:
        return False  # catalogue changes, not events: handle_item_changes
    if t.event is not None:
        return notice.name == t.event
    if t.on_enter is not None:
        return notice.name == SEGMENT_ENTERED and notice.segment == t.on_enter
    return notice.name == SEGMENT_EXITED and notice.segment == t.on_exit


def trigger_due_at(spec: CampaignSpec, at: datetime) -> datetime:
    """When a message triggered at ``at`` may go: after the delay, and after the unless
    window (its outcome must be known)."""
    t = spec.trigger
    assert t is not None
    wait = max(t.delay_seconds, t.within_seconds or 0.0)
    return at + timedelta(seconds=wait)


def trigger_fired(store: Store, settings: Settings, notice: Notice) -> int:
    """Queue the triggered campaigns' messages for this event's person; how many."""
    from tailored.campaigns.audience import in_audience
    from tailored.campaigns.sending import enqueue

    queued = 0
    now = datetime.now(UTC)
    if notice.timestamp < now - timedelta(hours=settings.overdue_hours):
        # History being imported, not something a person just did: no message for it.
        return 0
    for spec in _triggered(store):
        if not _fires(spec, notice):
            continue
        try:
            pid = store.find_profile(notice.profile_id)
            if not in_audience(store, pid, segment=spec.segment, rule=spec.rule):
                continue
        except Exception:  # a person erased meanwhile, a segment removed: nothing to send
            log.exception("campaign %s: trigger for %s not checked", spec.name,
                          notice.profile_id)
            continue
        counts = enqueue(store, settings, spec, [pid], now=now,
                         due_at=trigger_due_at(spec, notice.timestamp),
                         trigger_message_id=notice.message_id)
        queued += counts.get("to_send", 0)
    return queued


#: The events that say a person was interested in an item.
INTEREST_EVENTS = ("Product Viewed", "Product Added", "Product Clicked")


def handle_item_changes(store: Store, settings: Settings, *, now: datetime | None = None
                        ) -> int:
    """Hand each catalogue change not yet handled to the campaigns triggered by its kind:
    the people who viewed the item within the campaign's window, in its audience, are
    judged and queued (each change is a step of its own: a person hears of each item once).
    Messages queued."""
    from tailored.campaigns.audience import in_audience
    from tailored.campaigns.sending import enqueue
    from tailored.store.tables import item_changes

    now = now or datetime.now(UTC)
    specs = [s for s in _triggered(store) if s.trigger is not None and s.trigger.item]
    with store.reading() as conn:
        pending = conn.execute(sa.select(item_changes).where(
            item_changes.c.handled_at.is_(None)).order_by(item_changes.c.id).limit(100)).all()
    queued = 0
    for change in pending:
        with store.transaction() as conn:  # claimed once, whichever worker comes first
            if not conn.execute(item_changes.update().where(
                    item_changes.c.id == change.id, item_changes.c.handled_at.is_(None))
                    .values(handled_at=now)).rowcount:
                continue
        for spec in specs:
            assert spec.trigger is not None
            if spec.trigger.item != change.kind:
                continue
            since = now - timedelta(days=spec.trigger.viewed_days)
            product = events.c.properties["product_id"].as_string()
            with store.reading() as conn:
                viewers = sorted(set(conn.scalars(
                    sa.select(events.c.profile_id).where(
                        events.c.event.in_(INTEREST_EVENTS), events.c.timestamp >= since,
                        product == change.item_id))))
            people = [p for p in viewers
                      if in_audience(store, p, segment=spec.segment, rule=spec.rule)]
            counts = enqueue(store, settings, spec, people, step=int(change.id), now=now,
                             trigger_message_id=f"item:{change.item_id}")
            queued += counts.get("to_send", 0)
    return queued


def unless_happened(store: Store, spec: CampaignSpec, profile_id: str,
                    trigger_message_id: str | None) -> bool:
    """Whether the person did the "unless" event within its window after the trigger."""
    t = spec.trigger
    if t is None or t.unless is None or t.within_seconds is None or not trigger_message_id:
        return False
    pid = store.find_profile(profile_id)
    with store.reading() as conn:
        at = conn.scalar(sa.select(events.c.timestamp)
                         .where(events.c.message_id == trigger_message_id))
        if at is None:
            return False
        if isinstance(at, str):
            at = datetime.fromisoformat(at).replace(tzinfo=UTC)
        return bool(conn.scalar(sa.select(sa.func.count()).select_from(events).where(
            events.c.profile_id == pid, events.c.event == t.unless,
            events.c.timestamp >= at,
            events.c.timestamp <= at + timedelta(seconds=t.within_seconds))))


def _work_due(store: Store, now: datetime) -> bool:
    """Whether the outbox, a schedule or the catalogue has anything for the worker now."""
    from tailored.campaigns.outbox import SENDABLE
    from tailored.store.tables import item_changes, outbox

    with store.reading() as conn:
        return bool(conn.scalar(sa.select(
            sa.exists().where(outbox.c.status.in_(SENDABLE), outbox.c.due_at <= now)
            | sa.exists().where(campaigns.c.next_run_at <= now)
            | sa.exists().where(item_changes.c.handled_at.is_(None)))))


_lock = threading.Lock()
_installed: list[bool] = []


def install(settings: Settings | None = None) -> None:
    """Subscribe the triggered campaigns to the change stream, and give the outbox a turn
    on every due-time check (held, delayed and retried messages; scheduled campaigns).
    Once per process; ``settings`` default to the environment's."""
    from tailored.realtime import subscriptions

    with _lock:
        if _installed:
            return
        _installed.append(True)
    def settings_of() -> Settings:
        from tailored.config import Settings

        # Read when needed (a triggered event, a due turn with work), not kept: cheap, and
        # what the process's environment says now.
        return settings or Settings()

    def on_event(notice: Notice) -> None:
        trigger_fired(notice.store, settings_of(), notice)

    def on_due(store: Store, now: datetime) -> None:
        if not _work_due(store, now):  # the common case: a look, no imports, no work
            return
        from tailored.campaigns.sending import deliver_due
        from tailored.recommend.model_store import open_models

        s = settings_of()
        try:
            handle_item_changes(store, s, now=now)
            deliver_due(store, s, open_models(store, s.models_folder()), now=now)
        except Exception:  # the next turn tries again; a bad campaign must not stop the worker
            log.exception("campaigns: delivering due messages failed")

    sub = subscriptions.on_event(lambda n: any(_fires(s, n) for s in _triggered(n.store)),
                                 on_event)
    sub.description = "campaign triggers"
    subscriptions.on_due(on_due)
