"""Campaign definitions: who (a segment or an inline rule), on which channel, with which
variants and holdout, towards which goal, and when (now, at a time, on a cron schedule, or
on a trigger). Kept in ``campaigns`` as given; the audience is evaluated at each send."""

from __future__ import annotations

import difflib
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tailored.errors import InvalidInput, NotFound
from tailored.store.tables import campaigns

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["CHANNELS", "CampaignSpec", "Step", "Trigger", "Variant", "create_campaign",
           "get_campaign", "is_one_off", "list_campaigns", "next_run", "parse_duration"]

CHANNELS = ("email", "push", "webhook", "inapp")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, *, field: str) -> float:
    """``30m``, ``1h``, ``2d`` ... as seconds; :class:`InvalidInput` naming ``field``."""
    match = _DURATION.match(text or "")
    if not match:
        raise InvalidInput(f"{field}: {text!r} is not a duration: give a number and a unit "
                           "(s, m, h, d or w), e.g. 30m or 1h", field=field)
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_Frozen):
    """A version of the message: its template, and its share of those not held out;
    ``by_segment`` gives people in a segment a template of its own (the first segment of
    the list that they are in decides)."""

    name: str
    template: str
    weight: float = Field(default=1.0, gt=0)
    by_segment: list[tuple[str, str]] = Field(default_factory=list)

    def template_for(self, segments: list[str] | set[str]) -> str:
        for segment, template in self.by_segment:
            if segment in segments:
                return template
        return self.template

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value == "holdout" or not NAME.match(value):
            raise ValueError(f"{value!r} cannot name a variant (letters, digits, _ . -; "
                             "not 'holdout', which is the group kept out)")
        return value


class Trigger(_Frozen):
    """When a triggered campaign sends to one person: on ``event`` (a track event's name),
    or on entering (``on_enter``) or leaving (``on_exit``) a segment; after ``delay_seconds``;
    not at all when ``unless`` happens within ``within_seconds`` of the trigger."""

    event: str | None = None
    on_enter: str | None = None
    on_exit: str | None = None
    #: A catalogue change: an item the person viewed (or added to a cart) within
    #: ``viewed_days`` is back in stock, or cheaper.
    item: Literal["back_in_stock", "price_drop"] | None = None
    viewed_days: float = Field(default=30.0, gt=0, le=365)
    unless: str | None = None
    within_seconds: float | None = Field(default=None, gt=0)
    delay_seconds: float = Field(default=0.0, ge=0)

    def describe(self) -> str:
        if self.item:
            return f"a viewed item {self.item.replace('_', ' ')}"
        return (f"event {self.event!r}" if self.event else
                f"entering {self.on_enter!r}" if self.on_enter else f"leaving {self.on_exit!r}")


class Step(_Frozen):
    """A later step of a journey: ``wait_seconds`` after the previous message was sent,
    unless the person did ``unless`` since the journey began (the journey ends there) or is
    not in ``only_segment`` then (this step is skipped, the journey goes on), send
    ``template``."""

    wait_seconds: float = Field(gt=0)
    template: str
    unless: str | None = None
    only_segment: str | None = None


class CampaignSpec(_Frozen):
    name: str
    channel: Literal["email", "push", "webhook", "inapp"]
    variants: list[Variant] = Field(min_length=1)
    segment: str | None = None
    rule: dict[str, Any] | None = None
    holdout: float = Field(default=0.0, ge=0, lt=1)
    goal: str | None = "Order Completed"
    goal_days: float = Field(default=7.0, gt=0, le=365)
    trigger: Trigger | None = None
    schedule: str | None = None
    transactional: bool = False
    #: Only for the webhook channel: where the JSON goes (the customer's SMS/push service),
    #: and the secret its signature is made with.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    #: A journey's later steps, in order (the variants are its first message).
    steps: list[Step] = Field(default_factory=list)
    #: Send each person at the hour they are usually active (their opens, else their events),
    #: within the next 24 hours.
    best_time: bool = False
    #: How people not held out are split between variants: by their weights, or by Thompson
    #: sampling on each variant's conversions so far (more to the one doing better).
    allocation: Literal["fixed", "thompson"] = "fixed"
    #: The consent category the channel needs; by default the channel's own (email, push,
    #: webhook); an in-app message needs none (it shows inside the app the person uses).
    consent_channel: str | None = None

    def consent_category(self) -> str | None:
        if self.consent_channel is not None:
            return self.consent_channel
        return None if self.channel == "inapp" else self.channel

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r} cannot name a campaign (1-128 letters, digits, _ . -)")
        return value

    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]


def _spec(doc: dict[str, Any]) -> CampaignSpec:
    try:
        return CampaignSpec.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "campaign"
        raise InvalidInput(f"campaign {where}: {first['msg']}", field=where) from None


def is_one_off(schedule: str) -> bool:
    """Whether a schedule is one time (ISO), not a recurring cron expression."""
    try:
        datetime.fromisoformat(schedule)
    except ValueError:
        return False
    return True


def next_run(schedule: str, after: datetime) -> datetime | None:
    """When a schedule is next due after ``after``: an ISO time once (None once passed), or
    a five-field cron expression (UTC), via croniter."""
    try:
        when = datetime.fromisoformat(schedule)
    except ValueError:
        when = None
    if when is not None:
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return when if when > after else None
    from croniter import croniter

    if not croniter.is_valid(schedule):
        raise InvalidInput(f"--schedule: {schedule!r} is neither an ISO time "
                           "(2026-12-24T09:00:00+01:00) nor a cron expression (0 9 * * MON)",
                           field="schedule")
    return croniter(schedule, after.astimezone(UTC)).get_next(datetime).astimezone(UTC)


def create_campaign(store: Store, doc: dict[str, Any], *, now: datetime | None = None
                    ) -> dict[str, Any]:
    """Check and keep a campaign (replacing one of that name that has sent nothing yet).

    Checked: the templates exist and the segment exists (or the rule parses), the trigger
    has one cause, the schedule parses. A campaign that has already sent cannot be
    redefined: its outbox and report would stop meaning what they say."""
    from tailored.campaigns.template_store import get_template
    from tailored.segments.definitions import get_segment
    from tailored.segments.rules import parse_rule
    from tailored.store.tables import outbox

    if doc.get("channel") == "webhook" and not doc.get("webhook_secret"):
        # The receiver checks signatures with it: shown once, in the answer.
        doc = {**doc, "webhook_secret": secrets.token_urlsafe(32)}
    spec = _spec(doc)
    now = now or datetime.now(UTC)
    if (spec.segment is None) == (spec.rule is None):
        raise InvalidInput("give the audience as a segment (--segment) or a rule (--rule), "
                           "one of them", field="segment")
    if spec.segment is not None:
        get_segment(store, spec.segment)
    else:
        parse_rule(spec.rule)
    if len(set(spec.variant_names())) != len(spec.variants):
        raise InvalidInput("two variants have the same name", field="variants")
    for variant in spec.variants:
        get_template(store, variant.template)
        for segment, template in variant.by_segment:
            get_segment(store, segment)
            get_template(store, template)
    for step in spec.steps:
        get_template(store, step.template)
        if step.only_segment:
            get_segment(store, step.only_segment)
    if spec.steps and spec.schedule and next_run(spec.schedule, now) is not None \
            and not is_one_off(spec.schedule):
        raise InvalidInput("a recurring campaign cannot be a journey: give the steps to a "
                           "one-off or triggered campaign", field="steps")
    if spec.trigger is not None:
        causes = [c for c in (spec.trigger.event, spec.trigger.on_enter, spec.trigger.on_exit,
                              spec.trigger.item) if c]
        if len(causes) != 1:
            raise InvalidInput("a trigger has one cause: --trigger EVENT, --on-enter SEGMENT, "
                               "--on-exit SEGMENT or --on-item KIND", field="trigger")
        if spec.trigger.item and spec.steps:
            raise InvalidInput("a catalogue-triggered campaign sends one message: no --step",
                               field="steps")
        if (spec.trigger.unless is None) != (spec.trigger.within_seconds is None):
            raise InvalidInput("--unless and --within go together", field="unless")
        for seg in (spec.trigger.on_enter, spec.trigger.on_exit):
            if seg:
                get_segment(store, seg)
        if spec.schedule is not None:
            raise InvalidInput("a campaign is triggered or scheduled, not both",
                               field="schedule")
    if spec.channel == "webhook" and not (spec.webhook_url or "").startswith(
            ("http://", "https://")):
        raise InvalidInput("a webhook campaign needs --webhook-url http(s)://... (where its "
                           "JSON goes)", field="webhook_url")
    due = next_run(spec.schedule, now) if spec.schedule else None
    if spec.schedule and due is None:
        raise InvalidInput(f"--schedule {spec.schedule!r} is in the past", field="schedule")
    status = "triggered" if spec.trigger else "scheduled" if spec.schedule else "ready"
    with store.transaction() as conn:
        created_at = conn.scalar(sa.select(campaigns.c.created_at)
                                 .where(campaigns.c.name == spec.name))
        if created_at is not None:
            if conn.scalar(sa.select(sa.func.count()).select_from(outbox)
                           .where(outbox.c.campaign == spec.name)):
                raise InvalidInput(f"campaign {spec.name!r} has sent already: it cannot be "
                                   "redefined; create one under a new name", field="name")
            conn.execute(campaigns.delete().where(campaigns.c.name == spec.name))
        conn.execute(campaigns.insert().values(
            name=spec.name, channel=spec.channel, spec=spec.model_dump(mode="json"),
            status=status, next_run_at=due, created_at=created_at or now, updated_at=now))
    return {"campaign": spec.name, "created": created_at is None, "status": status,
            "channel": spec.channel, "variants": spec.variant_names(),
            "holdout": spec.holdout, "next_run_at": due.isoformat() if due else None,
            **({"webhook_secret": spec.webhook_secret} if spec.channel == "webhook" else {})}


def get_campaign(store: Store, name: str) -> CampaignSpec:
    """The campaign ``name``; :class:`NotFound` naming close ones."""
    with store.reading() as conn:
        spec = conn.scalar(sa.select(campaigns.c.spec).where(campaigns.c.name == name))
        if spec is None:
            names = list(conn.scalars(sa.select(campaigns.c.name)))
    if spec is None:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise NotFound(f"no campaign {name!r}{hint} (`tailored campaign list` shows them)")
    return CampaignSpec.model_validate(spec)


def list_campaigns(store: Store) -> list[dict[str, Any]]:
    with store.reading() as conn:
        rows = conn.execute(sa.select(campaigns).order_by(campaigns.c.name)).all()
    return [{"campaign": r.name, "channel": r.channel, "status": r.status,
             "next_run_at": r.next_run_at.isoformat() if r.next_run_at else None,
             "last_run_at": r.last_run_at.isoformat() if r.last_run_at else None}
            for r in rows]

