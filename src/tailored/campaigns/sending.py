"""Sending a campaign: the audience evaluated now, each person judged, the outbox written,
then every queued message delivered before ``campaign send`` returns.

The same delivery loop serves ``tailored worker`` (due messages of every campaign: held
for quiet hours, delayed by a trigger, retried after a temporary failure). Policies:

* **Retries**: a temporary failure (SMTP 4xx, a server down) is tried again after 30 s,
  then 60 s, ... at most an hour apart, up to ``message_max_attempts`` tries, then marked
  failed; ``campaign send`` makes ``send_attempts_inline`` tries itself (1 s, 2 s apart)
  before it reports the message failed and leaves it to the worker (nothing is lost).
* **Overdue messages** (the worker was down): a message due more than ``overdue_hours``
  ago is cancelled, not sent late, unless transactional; those still in time go out at
  the channel's ``send_rate``, never as one burst.
* **Checked again when sent**: a message held or delayed is cancelled if the person
  unsubscribed, bounced or withdrew consent meanwhile.
"""

from __future__ import annotations

import html as html_lib
import re
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.campaigns.audience import audience_members, in_audience
from tailored.campaigns.definitions import CampaignSpec, get_campaign, is_one_off, next_run
from tailored.campaigns.eligibility import REASONS, judge
from tailored.campaigns.experiments import HOLDOUT, assign
from tailored.campaigns.outbox import (
    claim,
    dedupe_key,
    insert_rows,
    mark,
    message_id_for,
    sender_id,
)
from tailored.campaigns.personalise import (
    ITEM_FIELDS,
    people_for,
    render_for,
    unsubscribe_url,
)
from tailored.campaigns.signing import signing_key
from tailored.campaigns.template_store import get_template
from tailored.campaigns.tracking import Tracker
from tailored.campaigns.triggers import unless_happened
from tailored.channels.base import Channel, Outcome, OutgoingMessage
from tailored.errors import InvalidInput, NotFound, TailoredError
from tailored.store.tables import campaigns, suppressions

if TYPE_CHECKING:
    from tailored.campaigns.templates import MessageTemplate
    from tailored.config import Settings
    from tailored.recommend.model_store import ModelStore
    from tailored.store import Store

__all__ = ["COMMIT_EVERY", "Delivery", "deliver_due", "enqueue", "open_channel", "send_campaign"]

_BATCH = 1000
_CLAIM = 200
_ERRORS_SHOWN = 20
#: Outcomes are committed every this many messages or this many seconds, whichever first.
COMMIT_EVERY = 20
COMMIT_SECONDS = 0.25


def open_channel(name: str, settings: Settings, store: Store, spec: CampaignSpec | None = None
                 ) -> Channel:
    """The channel ``name`` as configured."""
    if name == "email":
        from tailored.channels.email import EmailChannel, smtp_target

        target = smtp_target(settings)
        if not settings.mail_from:
            raise InvalidInput("e-mail needs a sender: set TAILORED_MAIL_FROM "
                               "(shop@example.com)", field="mail_from")
        return EmailChannel(target, settings.mail_from,
                            timeout=settings.smtp_timeout_seconds)
    if name == "inapp":
        from tailored.channels.inapp import InboxChannel

        return InboxChannel(store)
    if name == "webhook":
        from tailored.channels.webhook import WebhookChannel

        assert spec is not None
        return WebhookChannel(settings, spec)
    if name == "push":
        from tailored.channels.webpush import WebPushChannel

        return WebPushChannel(store, settings)
    raise InvalidInput(f"unknown channel {name!r}", field="channel")


def _domain(settings: Settings) -> str:
    address = parseaddr(settings.mail_from or "")[1]
    return address.rsplit("@", 1)[1] if "@" in address else "tailored.invalid"


def enqueue(store: Store, settings: Settings, spec: CampaignSpec, people: list[str], *,
            step: int = 0, now: datetime, dry_run: bool = False,
            due_at: datetime | None = None, trigger_message_id: str | None = None
            ) -> Counter[str]:
    """Judge ``people`` and write their outbox rows (none with ``dry_run``). Counts per
    reason, and ``to_send`` for those queued now."""
    counts: Counter[str] = Counter()
    domain = _domain(settings)
    variants = _allocation(store, spec)
    for i in range(0, len(people), _BATCH):
        verdicts = judge(store, settings, spec, people[i:i + _BATCH], step=step, now=now)
        timing = _best_times(store, settings, spec, verdicts, now) if spec.best_time else {}
        rows = []
        for v in verdicts:
            if v.reason is None and v.existing is None and v.profile_id in timing:
                v = replace(v, reason="best_time", hold_until=timing[v.profile_id])
            counts[v.reason or "to_send"] += 1
            if v.existing is not None or v.reason not in (None, "quiet_hours", "holdout",
                                                           "best_time"):
                continue
            key = dedupe_key(spec.name, step, v.profile_id)
            variant = assign(spec.name, v.profile_id, variants, spec.holdout)
            status = "holdout" if variant == HOLDOUT else (
                "held" if v.reason in ("quiet_hours", "best_time") or due_at is not None
                else "queued")
            rows.append({
                "dedupe_key": key, "campaign": spec.name, "step": step,
                "profile_id": v.profile_id, "variant": variant, "channel": spec.channel,
                "transactional": spec.transactional, "status": status,
                "due_at": v.hold_until or due_at or now,
                "message_id": message_id_for(key, domain), "address": v.address,
                "attempts": 0, "trigger_message_id": trigger_message_id, "created_at": now})
        if rows and not dry_run:
            with store.transaction() as conn:
                insert_rows(conn, rows)
    return counts


def _allocation(store: Store, spec: CampaignSpec) -> list[tuple[str, float]]:
    """The variants' weights for this send: as given, or by Thompson sampling on the
    conversions each variant has had so far (seeded by the campaign: the same every time
    within a run, so a person's assignment does not flip between retries)."""
    fixed = [(v.name, v.weight) for v in spec.variants]
    if spec.allocation != "thompson" or len(spec.variants) < 2:
        return fixed
    from tailored.campaigns.experiments import thompson_weights
    from tailored.campaigns.report import campaign_report

    arms = {v["variant"]: v for v in campaign_report(store, spec.name)["variants"]}
    stats = {name: (int(arms.get(name, {}).get("converted", 0)),
                    int(arms.get(name, {}).get("people", 0))) for name, _ in fixed}
    seed = int.from_bytes(spec.name.encode()[:8].ljust(8, b"\0"), "big")
    shares = thompson_weights(stats, seed=seed)
    # Every variant keeps a little: an early unlucky one can still recover.
    return [(name, max(shares[name], 0.05)) for name, _ in fixed]


def _best_times(store: Store, settings: Settings, spec: CampaignSpec, verdicts: list[Any],
                now: datetime) -> dict[str, datetime]:
    """When each person about to be sent should get it (only those to wait for)."""
    from zoneinfo import ZoneInfo

    from tailored.campaigns.eligibility import time_zones
    from tailored.campaigns.outbox import person_ids
    from tailored.campaigns.respect import zone
    from tailored.campaigns.send_time import best_hours, next_at_hour

    people = [v.profile_id for v in verdicts if v.reason is None and v.existing is None]
    default = ZoneInfo(settings.quiet_hours_timezone)
    with store.reading() as conn:
        known = person_ids(conn, people)
        zones = time_zones(conn, known)
        hours = best_hours(conn, known, zones, default, now)
    if not hours:
        return {}
    usual = Counter(hours.values()).most_common(1)[0][0]
    out = {}
    for pid in people:
        at = next_at_hour(now, hours.get(pid, usual), zone(zones.get(pid), default))
        if at > now:
            out[pid] = at
    return out


class Delivery:
    """Delivers claimed outbox rows: renders each for its person, sends it on its channel,
    records the outcome row by row."""

    def __init__(self, store: Store, settings: Settings, models: ModelStore) -> None:
        self.store, self.settings, self.models = store, settings, models
        self.owner = sender_id()
        self.tracker = Tracker(store, settings)
        self.key = signing_key(store, settings)
        self._pending: list[tuple[int, dict[str, Any]]] = []
        self._flushed_at = time.monotonic()
        self._people: dict[str, dict[str, Any]] = {}
        self._models: dict[str | None, Any] = {}  # loaded once for all the messages
        self._items: dict[str, dict[str, Any]] = {}  # catalogue fields, read once
        self._channels: dict[str, Channel] = {}
        self._specs: dict[str, CampaignSpec] = {}
        self._templates: dict[str, MessageTemplate] = {}
        self._last_send: dict[str, float] = {}
        self.counts: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []

    def __enter__(self) -> Delivery:
        return self

    def __exit__(self, *exc: object) -> None:
        for channel in self._channels.values():
            channel.__exit__(None, None, None)
        self._channels.clear()

    def _spec(self, name: str) -> CampaignSpec:
        if name not in self._specs:
            self._specs[name] = get_campaign(self.store, name)
        return self._specs[name]

    def _template(self, name: str) -> MessageTemplate:
        if name not in self._templates:
            self._templates[name] = get_template(self.store, name)
        return self._templates[name]

    def _channel(self, spec: CampaignSpec) -> Channel:
        key = spec.channel if spec.channel != "webhook" else f"webhook:{spec.name}"
        if key not in self._channels:
            self._channels[key] = open_channel(spec.channel, self.settings, self.store,
                                               spec).__enter__()
        return self._channels[key]

    def _throttle(self, channel: str) -> None:
        rate = self.settings.send_rate
        if rate <= 0:
            return
        wait = self._last_send.get(channel, 0.0) + 1.0 / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_send[channel] = time.monotonic()

    def _still_allowed(self, spec: CampaignSpec, row: Any) -> str | None:
        """For a message that waited: why it may no longer go (None: it may)."""
        if row.attempts == 0 and row.created_at >= row.due_at - timedelta(seconds=1):
            return None  # queued to go at once: judged a moment ago
        verdict = judge(self.store, self.settings, spec, [self.store.find_profile(
            row.profile_id)], step=row.step, now=datetime.now(UTC),
            respect_quiet_hours=False)[0]
        if verdict.reason in ("unsubscribed", "bounced", "no_consent", "no_address"):
            return verdict.reason
        return None

    def _message(self, spec: CampaignSpec, row: Any) -> OutgoingMessage:
        variant = next((v for v in spec.variants if v.name == row.variant), spec.variants[0])
        chosen: Any
        if 0 < row.step <= len(spec.steps):
            chosen = self._template(spec.steps[row.step - 1].template)
        else:
            def chosen(segments: list[str]) -> MessageTemplate:
                return self._template(variant.template_for(segments))
        profile = self._people.get(row.profile_id)
        pid = profile["profile_id"] if profile else self.store.find_profile(row.profile_id)
        unsubscribe = unsubscribe_url(self.store, self.settings, pid, channel=spec.channel,
                                      campaign=spec.name, key=self.key)
        item = None
        if (row.trigger_message_id or "").startswith("item:"):
            # A back-in-stock or price-drop message: the template reads the item as it is.
            item = {**dict.fromkeys(ITEM_FIELDS),
                    **self.store.get_item(row.trigger_message_id.removeprefix("item:"))}
        rendered = render_for(self.store, self.models, self.settings, chosen, row.profile_id,
                              channel=spec.channel, campaign=spec.name, profile=profile,
                              key=self.key, unsubscribe=unsubscribe, item=item,
                              models_cache=self._models, item_cache=self._items)
        if spec.channel == "email":
            rendered = type(rendered)(rendered.subject, self.tracker.instrument(
                rendered.html, row.id, keep=(unsubscribe,)), rendered.text)
        return OutgoingMessage(
            outbox_id=row.id, campaign=spec.name, variant=row.variant,
            profile_id=row.profile_id, address=row.address, message_id=row.message_id,
            rendered=rendered, unsubscribe_url=unsubscribe,
            data={"click_url": self._first_link(rendered.html, row.id),
                  "open_url": self.tracker.open_url(row.id)})

    def _first_link(self, html: str, outbox_id: int) -> str | None:
        """A push notification or an inbox card opens the message's first link, tracked."""
        match = re.search(r'href\s*=\s*["\'](https?://[^"\']+)', html)
        if match is None:
            return None
        url = html_lib.unescape(match.group(1))
        if url.startswith(self.tracker.base + "/v1/t/c/"):
            return url  # already tracked (e-mail)
        return self.tracker.click_url(outbox_id, url)

    def _retry_after(self, attempts: int, *, inline: bool) -> float | None:
        if attempts >= self.settings.message_max_attempts:
            return None
        if inline and attempts < self.settings.send_attempts_inline:
            return float(2 ** (attempts - 1))
        return min(30.0 * 2 ** max(attempts - self.settings.send_attempts_inline, 0), 3600.0)

    def run_rows(self, rows: list[Any], *, inline: bool) -> None:
        # What the templates read, for the whole batch at once.
        self._people = people_for(self.store, sorted({r.profile_id for r in rows}))
        try:
            for row in rows:
                self._one(row, inline=inline)
        finally:
            self.flush()

    def flush(self) -> None:
        """Record what became of the messages handled since the last flush."""
        if self._pending:
            mark(self.store, self._pending, self.owner)
            self._pending = []
        self._flushed_at = time.monotonic()

    def _one(self, row: Any, *, inline: bool) -> None:
        now = datetime.now(UTC)
        try:
            spec = self._spec(row.campaign)
        except NotFound:
            self._finish(row, {"status": "cancelled", "last_error": "campaign removed"})
            return
        overdue = now - row.due_at > timedelta(hours=self.settings.overdue_hours)
        if overdue and not row.transactional:
            self._finish(row, {"status": "cancelled",
                               "last_error": f"overdue by more than "
                                             f"{self.settings.overdue_hours:g} h"})
            self.counts["cancelled"] += 1
            return
        try:
            reason = self._still_allowed(spec, row)
        except NotFound:
            reason = "erased"
        if reason is None:
            reason = self._journey_stop(spec, row)
        if reason is None and spec.trigger is not None and unless_happened(
                self.store, spec, row.profile_id, row.trigger_message_id):
            reason = f"{spec.trigger.unless} came within the window"
        if reason is not None:
            self._finish(row, {"status": "cancelled", "last_error": reason})
            self.counts["cancelled"] += 1
            return
        attempts = int(row.attempts) + 1
        try:
            message = self._message(spec, row)
        except (TailoredError, NotFound) as exc:  # a trait the person lacks, say
            outcome = Outcome("failed", f"cannot render: {exc}")
        else:
            self._throttle(spec.channel)
            try:
                outcome = self._channel(spec).send(message)
            except TailoredError as exc:  # the channel is not configured
                outcome = Outcome("retry", str(exc))
        if outcome.status == "sent":
            sent_at = datetime.now(UTC)
            self._finish(row, {"status": "sent", "attempts": attempts,
                               "sent_at": sent_at, "last_error": None})
            self.counts["sent"] += 1
            if row.step < len(spec.steps):
                self._next_step(spec, row, sent_at)
            return
        if outcome.status == "retry":
            after = self._retry_after(attempts, inline=inline)
            if after is not None:
                self._finish(row, {"attempts": attempts, "last_error": outcome.error,
                                   "due_at": datetime.now(UTC) + timedelta(seconds=after)})
                self.counts["retrying"] += 1
                self._note(row, outcome, retrying=True)
                return
            outcome = Outcome("failed", outcome.error)
        status = {"bounced": "bounced", "gone": "failed"}.get(outcome.status, "failed")
        self._finish(row, {"status": status, "attempts": attempts,
                           "last_error": outcome.error})
        if outcome.status in ("bounced", "gone"):
            self._suppress(row, outcome)
        self.counts[status] += 1
        self._note(row, outcome, retrying=False)

    def _next_step(self, spec: CampaignSpec, row: Any, after: datetime) -> None:
        """Queue the journey's next message, held until its wait is over."""
        step = spec.steps[row.step]
        key = dedupe_key(spec.name, row.step + 1, row.profile_id)
        with self.store.transaction() as conn:
            insert_rows(conn, [{
                "dedupe_key": key, "campaign": spec.name, "step": row.step + 1,
                "profile_id": row.profile_id, "variant": row.variant,
                "channel": spec.channel, "transactional": spec.transactional,
                "status": "held", "due_at": after + timedelta(seconds=step.wait_seconds),
                "message_id": message_id_for(key, _domain(self.settings)),
                "address": row.address, "attempts": 0,
                "trigger_message_id": row.trigger_message_id, "created_at": after}])

    def _journey_stop(self, spec: CampaignSpec, row: Any) -> str | None:
        """For a journey's later step, why it does not go (None: it goes)."""
        if not 0 < row.step <= len(spec.steps):
            return None
        step = spec.steps[row.step - 1]
        pid = self.store.find_profile(row.profile_id)
        if step.unless is not None:
            began = _journey_start(self.store, spec.name, row.profile_id)
            if began is not None and _did_since(self.store, pid, step.unless, began):
                return f"journey ended: {step.unless} happened"
        if step.only_segment is not None and not in_audience(
                self.store, pid, segment=step.only_segment):
            if row.step < len(spec.steps):  # the journey goes on without this step
                self._next_step(spec, row, datetime.now(UTC))
            return f"not in {step.only_segment}: step skipped"
        return None

    def _note(self, row: Any, outcome: Outcome, *, retrying: bool) -> None:
        if len(self.errors) < _ERRORS_SHOWN:
            self.errors.append({"profile_id": row.profile_id, "outbox_id": row.id,
                                "error": outcome.error, "retrying": retrying})

    def _finish(self, row: Any, values: dict[str, Any]) -> None:
        # Recorded in small groups, each only after its messages went: a crash between a
        # send and its group's commit sends at most that group again, with the same
        # Message-IDs (one commit a message cost as much as the SMTP transaction itself).
        self._pending.append((row.id, values))
        if len(self._pending) >= COMMIT_EVERY or \
                time.monotonic() - self._flushed_at >= COMMIT_SECONDS:
            self.flush()

    def _suppress(self, row: Any, outcome: Outcome) -> None:
        if outcome.status != "bounced":
            return
        from tailored.store.writes import upsert

        with self.store.transaction() as conn:
            upsert(conn, suppressions, [{
                "profile_id": row.profile_id, "channel": row.channel, "reason": "bounced",
                "campaign": row.campaign, "created_at": datetime.now(UTC)}],
                ["profile_id", "channel"], keep=("reason",))


def send_campaign(store: Store, settings: Settings, models: ModelStore, name: str, *,
                  dry_run: bool = False, step: int = 0) -> dict[str, Any]:
    """Send campaign ``name`` now to its audience as it is now; deliver before returning.

    ``{"campaign", "audience", "sent", "failed", "skipped": {...}}``, where ``audience``
    equals sent + failed + every skipped count (each person once, under the first reason);
    ``retrying`` counts the failed that the worker will try again; ``errors`` shows the
    first failures."""
    spec = get_campaign(store, name)
    if spec.trigger is not None:
        raise InvalidInput(f"campaign {name!r} is triggered ({spec.trigger.describe()}): "
                           "`tailored worker` sends it to each person as it happens",
                           field="campaign")
    now = datetime.now(UTC)
    people = audience_members(store, settings, segment=spec.segment, rule=spec.rule)
    counts = enqueue(store, settings, spec, people, step=step, now=now, dry_run=dry_run)
    skipped = {reason: counts.get(reason, 0) for reason in REASONS}
    if spec.best_time:  # held for each person's best hour: the worker sends them
        skipped["best_time"] = counts.get("best_time", 0)
    result: dict[str, Any] = {"campaign": name, "audience": len(people), "sent": 0,
                              "failed": 0, "skipped": skipped, "dry_run": dry_run}
    if not people:
        result["note"] = "the audience is empty: nobody matches it now"
    if dry_run:
        result["would_send"] = counts.get("to_send", 0)
        return result
    with Delivery(store, settings, models) as delivery:
        # Tries inline: every row of this campaign that may go (an earlier run's leftovers
        # too), then those whose quick retry is due, until none is left to try now.
        rows = claim(store, delivery.owner, now=now, limit=_CLAIM, campaign=name,
                     ignore_due=True)
        while rows:
            delivery.run_rows([r for r in rows if r.status == "queued"
                               or r.due_at <= now], inline=True)
            # Rows claimed but not ours to send now (held for later) are let go.
            later = [r.id for r in rows if r.status == "held" and r.due_at > now]
            if later:
                mark(store, [(i, {}) for i in later], delivery.owner)
            now = datetime.now(UTC)
            rows = claim(store, delivery.owner, now=now, limit=_CLAIM, campaign=name)
            if not rows and _quick_retry_pending(store, name, now, settings):
                time.sleep(1.0)
                now = datetime.now(UTC)
                rows = claim(store, delivery.owner, now=now, limit=_CLAIM, campaign=name)
    result["sent"] = delivery.counts["sent"]
    result["failed"] = delivery.counts["failed"] + delivery.counts["bounced"]
    result["cancelled"] = delivery.counts["cancelled"]
    # People queued but not delivered (failing for now, left to the worker) are failed
    # in this run's count: the audience sums.
    accounted = result["sent"] + result["failed"] + sum(skipped.values())
    left = len(people) - accounted
    if left > 0:
        result["failed"] += left
        result["retrying"] = left
    if delivery.errors:
        result["errors"] = delivery.errors
    with store.transaction() as conn:
        conn.execute(campaigns.update().where(campaigns.c.name == name)
                     .values(last_run_at=now))
    return result


def _quick_retry_pending(store: Store, name: str, now: datetime, settings: Settings
                         ) -> bool:
    """Whether a row of this campaign is waiting for an inline retry (due within 5 s)."""
    from tailored.store.tables import outbox

    with store.reading() as conn:
        return bool(conn.scalar(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.campaign == name, outbox.c.status == "queued",
            outbox.c.attempts > 0, outbox.c.attempts < settings.send_attempts_inline,
            outbox.c.due_at <= now + timedelta(seconds=5))))


def deliver_due(store: Store, settings: Settings, models: ModelStore, *,
                now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Deliver what is due across campaigns (the worker's round): held, delayed and
    retried messages, and scheduled campaigns whose time has come."""
    now = now or datetime.now(UTC)
    run_scheduled(store, settings, models, now=now)
    with Delivery(store, settings, models) as delivery:
        done = 0
        while done < limit:
            rows = claim(store, delivery.owner, now=datetime.now(UTC),
                         limit=min(_CLAIM, limit - done))
            if not rows:
                break
            delivery.run_rows(rows, inline=False)
            done += len(rows)
    return dict(delivery.counts)


def run_scheduled(store: Store, settings: Settings, models: ModelStore, *,
                  now: datetime) -> list[dict[str, Any]]:
    """Send the scheduled campaigns that are due, and set their next time (a cron one's
    next occurrence; a one-off's none). Each run is its own step, so a recurring campaign
    reaches a person once per run."""
    with store.reading() as conn:
        due = conn.execute(sa.select(campaigns.c.name, campaigns.c.next_run_at)
                           .where(campaigns.c.next_run_at <= now)).all()
    results = []
    for name, at in due:
        spec = get_campaign(store, name)
        # Claim the run first: another worker seeing the same row moves on.
        following = next_run(spec.schedule, now) if spec.schedule else None
        with store.transaction() as conn:
            took = conn.execute(campaigns.update().where(
                campaigns.c.name == name, campaigns.c.next_run_at == at)
                .values(next_run_at=following, last_run_at=now)).rowcount
        if took:
            # A recurring campaign's every run is a step of its own (its minute), so it
            # reaches a person once per run; a one-off's is step 0, as `campaign send`.
            recurring = spec.schedule is not None and not is_one_off(spec.schedule)
            step = int(at.timestamp() // 60) if recurring else 0
            results.append(send_campaign(store, settings, models, name, step=step))
    return results



def _journey_start(store: Store, campaign: str, profile_id: str) -> datetime | None:
    from tailored.store.tables import outbox

    with store.reading() as conn:
        return conn.scalar(sa.select(outbox.c.sent_at).where(
            outbox.c.campaign == campaign, outbox.c.step == 0,
            outbox.c.profile_id == profile_id))


def _did_since(store: Store, profile_id: str, event: str, since: datetime) -> bool:
    from tailored.store.tables import events

    with store.reading() as conn:
        return bool(conn.scalar(sa.select(sa.func.count()).select_from(events).where(
            events.c.profile_id == profile_id, events.c.event == event,
            events.c.timestamp >= since)))
