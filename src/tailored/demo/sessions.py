"""The simulation loop: plays every person's sessions, e-mails and refunds in time order.

People sharing a TV are played together, because who is logged in on the TV is state both
of them change. Each event records its true person in :attr:`Simulator.truth`, whatever
ids it carries (anonymous, another person's on a shared TV, an old id before an alias).
"""

from __future__ import annotations

import hashlib
import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tailored.demo import emails, funnel, orders
from tailored.demo.catalog import ItemSpec, affinity, subcategories
from tailored.demo.context import (
    campaign_for,
    device_context,
    local_hour,
    server_context,
    session_starts,
    to_ms,
    utc_offset,
)
from tailored.demo.people import Device, Person, new_anonymous_id, random_ip
from tailored.ingest.sources.records import MESSAGE_ID_NAMESPACE

__all__ = ["Session", "Simulator", "make_promos"]


_ID_PREFIX = {"order": "ord", "cart": "cart", "review": "rev"}


class _MessageIds:
    """``stable_message_id("demo", seed, n)`` for n = 1, 2, ..., without re-hashing the prefix.

    A UUID v5 is a SHA-1 of namespace + name; the name's "demo\x1fseed\x1f" prefix is the
    same for every event, so it is hashed once. Tests check the ids equal the slow path.
    """

    def __init__(self, seed: int) -> None:
        self._prefix = hashlib.sha1(MESSAGE_ID_NAMESPACE.bytes + f"demo\x1f{seed}\x1f".encode())

    def __call__(self, n: int) -> str:
        h = self._prefix.copy()
        h.update(str(n).encode())
        d = h.hexdigest()
        variant = "89ab"[int(d[16], 16) & 0x3]
        return f"{d[:8]}-{d[8:12]}-5{d[13:16]}-{variant}{d[17:20]}-{d[20:32]}"


def make_promos(start: datetime, days: int) -> list[dict[str, Any]]:
    """Two promotions, placed relative to the window so short windows get them too."""
    out = []
    for name, coupon, pct, frac, length in (("summer-sale", "SUMMER20", 20, 0.28, 3),
                                            ("flash-sale", "FLASH15", 15, 0.72, 2)):
        begin = start + timedelta(days=round(days * frac))
        out.append({"name": name, "coupon": coupon, "discount_pct": pct, "start": begin,
                    "end": begin + timedelta(days=length)})
    return out


@dataclass(slots=True)
class Session:
    """One visit: a person on a device, the clock, and what the page/SDK context is."""

    person: Person
    device: Device
    t: datetime
    ctx: dict[str, Any]
    campaign: dict[str, str] | None = None
    referrer: str = ""
    promo: dict[str, Any] | None = None
    page: dict[str, Any] | None = None
    landing: bool = True  # UTM parameters apply until the first navigation
    buffer: list[dict[str, Any]] | None = None  # events of a skewed device, sent in a batch
    added: int = 0
    nps: bool = False
    plan: dict[str, Any] = field(default_factory=dict)  # why it was scheduled: signup...


class Simulator:
    """Turns people, devices and items into Segment events plus their true owners."""

    def __init__(self, rng: random.Random, seed: int, start: datetime, days: int,
                 items: list[ItemSpec], people: list[Person]) -> None:
        self.rng, self.seed, self.start, self.days = rng, seed, start, days
        self.end = start + timedelta(days=days)
        self.subs = subcategories()
        self.items = items
        self.item_index = {i.item_id: i for i in items}
        self.by_sub: list[list[ItemSpec]] = [[] for _ in self.subs]
        for item in sorted(items, key=lambda i: -i.popularity):
            self.by_sub[item.sub].append(item)
        self.sale_items = [i for b in self.by_sub for i in b if i.sale]
        self.people = people
        self.index = {p.uid: p for p in people}
        self.promos = make_promos(start, days)
        self.events: list[tuple[datetime, int, dict[str, Any]]] = []
        self.truth: dict[str, str] = {}
        self.counters = {"message": 0, "order": 0, "cart": 0, "review": 0}
        self._message_id = _MessageIds(seed)
        self._heap: list[tuple[datetime, int, str, Person, Any]] = []
        self._seq = 0
        for p in people:
            self._prepare(p)

    def _prepare(self, p: Person) -> None:
        rng = self.rng
        # Taste per leaf category: the segment's affinity, a secondary interest, and some
        # personal noise, so two people of a segment are alike but not identical.
        weights = []
        for sub in self.subs:
            a = affinity(p.segment, sub.path)
            if sub.top == p.secondary:
                a = max(a, 0.3)
            weights.append(a * rng.lognormvariate(0, 0.3))
        p.state.update(sub_w=weights, cart=[], cart_id=self.next_id("cart"), viewed={},
                       reviews=[], inbox=[], orders=0)
        for dev in p.devices:
            # Apps and browsers of existing customers were often logged in before the
            # window opened: their events carry a userId without any identify call.
            # (The household TV app is new: nobody is logged in on it yet.)
            if dev.logs_in and not dev.shared and p.signup_at < self.start:
                chance = 0.4 if dev.platform == "web" else 0.6
                if rng.random() < chance:
                    dev.logged_in_as = p.uid

    def next_id(self, kind: str) -> str:
        """The next messageId, or order/cart/review id."""
        self.counters[kind] += 1
        n = self.counters[kind]
        if kind == "message":
            return self._message_id(n)
        return f"{_ID_PREFIX[kind]}-{n:06d}"

    def schedule(self, t: datetime, kind: str, p: Person, payload: Any = None) -> None:
        """Queue a session, e-mail, refund or alias for ``p`` at ``t`` (dropped after the end)."""
        if t < self.end:
            self._seq += 1
            heapq.heappush(self._heap, (to_ms(t), self._seq, kind, p, payload))

    def promo_at(self, t: datetime) -> dict[str, Any] | None:
        """The promotion running at ``t``, if any."""
        return next((pr for pr in self.promos if pr["start"] <= t < pr["end"]), None)

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> None:
        """Play everyone, household by household, filling :attr:`events` and :attr:`truth`."""
        done: set[str] = set()
        for p in self.people:
            if p.uid in done:
                continue
            group = [q for q in self.people if q.household == p.household] if p.household else [p]
            done.update(q.uid for q in group)
            for q in group:
                self._plan(q)
            while self._heap:
                t, _, kind, q, payload = heapq.heappop(self._heap)
                if kind == "session":
                    self._session(q, t, payload or {})
                elif kind == "email":
                    emails.deliver(self, q, t, payload)
                elif kind == "refund":
                    orders.refund(self, q, t, payload)
                elif kind == "alias" and q.alias_sent is None:
                    # Never seen logged in after the switch: the back end sends the alias.
                    self.emit_server(q, t, "alias", None, {"previousId": q.old_id})
                    q.alias_sent = t

    def _plan(self, p: Person) -> None:
        for t in session_starts(self.rng, p, self.start, self.days, self.promos):
            self.schedule(t, "session", p)
        if self.start <= p.signup_at:
            # Signing up is a session of its own, on the device the person uses most.
            p.devices[0].logs_in = True
            self.schedule(to_ms(p.signup_at), "session", p, {"signup": True})
        tv = next((d for d in p.devices if d.shared), None)
        if tv:
            # Everyone in a TV household watches at least once, early in the window, on an
            # evening at home (and from then on whenever the dice say so).
            first = max(self.start, p.first_seen, p.signup_at + timedelta(hours=1))
            last = p.churn_at or self.end
            span = min(self.days // 4, (last - first).days - 1)
            day = first + timedelta(days=self.rng.randint(0, max(0, span)))
            evening = day.replace(hour=20, minute=0) - timedelta(
                hours=utc_offset(day, p.city[6]), minutes=self.rng.uniform(-60, 60))
            self.schedule(to_ms(max(evening, first)), "session", p, {"device": tv})
        if p.alias_at:
            # A back-end alias if none was sent from a device in two weeks (or by the end).
            deadline = min(p.alias_at + timedelta(days=14), self.end - timedelta(hours=1))
            self.schedule(to_ms(deadline), "alias", p)
        emails.plan(self, p)

    # -- sessions -------------------------------------------------------------------------

    def _pick_device(self, p: Person, t: datetime, plan: dict[str, Any]) -> Device:
        if plan.get("signup"):
            return p.devices[0]
        if plan.get("device"):
            return plan["device"]
        hour, weekday = local_hour(t, p)
        evening, office = 19 <= hour <= 23, weekday < 5 and 8 <= hour <= 18
        weights = []
        for dev in p.devices:
            w = {"phone": 0.5, "mobile": 0.25, "desktop": 0.35, "tablet": 0.2, "tv": 0.3}[dev.form]
            if dev.form == "desktop" and office:
                w *= 2.0
            if dev.form in ("tablet", "tv"):
                w *= (3.0 if dev.form == "tv" else 1.5) if evening else 0.4
            if plan.get("campaign") and dev.platform == "web":
                w *= 4.0  # e-mail links open in a browser more often than not
            weights.append(w)
        return self.rng.choices(p.devices, weights=weights)[0]

    def _session(self, p: Person, t: datetime, plan: dict[str, Any]) -> None:
        rng = self.rng
        dev = self._pick_device(p, t, plan)
        if dev.platform == "web" and rng.random() < 0.03:
            self.reset(dev)  # cookies cleared: a new anonymousId, logged out
        elif dev.platform in ("ios", "android") and rng.random() < 0.008:
            self.reset(dev)  # app reinstalled: new anonymousId, same device.id
        at_home = dev.form in ("desktop", "tablet", "tv") or rng.random() < 0.55
        ip = p.home_ip if at_home else random_ip(rng)
        ctx = device_context(dev, p, t, ip, self.start, self.days, at_home)
        s = Session(p, dev, t, ctx, promo=self.promo_at(t), plan=plan)
        if dev.platform == "web":
            if plan.get("campaign"):
                s.campaign = plan["campaign"]
            else:
                s.campaign, s.referrer = campaign_for(rng, s.promo)
        if dev.skew and rng.random() < 0.6:
            s.buffer = []
        funnel.play(self, s)
        self._flush(s)
        if dev.platform == "web" and dev.logged_in_as and rng.random() < 0.03:
            self.reset(dev)  # logged out: analytics.reset() makes a new anonymousId

    def reset(self, dev: Device) -> None:
        dev.anonymous_id = new_anonymous_id(self.rng)
        dev.anonymous_ids.append(dev.anonymous_id)
        dev.logged_in_as = None

    # -- events ---------------------------------------------------------------------------

    def emit(self, s: Session, kind: str, name: str | None = None, *,
             props: dict[str, Any] | None = None, traits: dict[str, Any] | None = None,
             quick: bool = False, extra: dict[str, Any] | None = None) -> None:
        """Append an event of session ``s``, advancing its clock by a human pause."""
        rng = self.rng
        gap = rng.uniform(0.05, 1.5) if quick else rng.lognormvariate(2.4, 0.8)
        s.t = to_ms(s.t + timedelta(seconds=gap))
        ev: dict[str, Any] = {"type": kind}
        if name is not None:
            ev["event" if kind == "track" else "name"] = name
        ev["messageId"] = self.next_id("message")
        ev.update(extra or {})
        who = s.device.logged_in_as
        if who:
            ev["userId"] = self.index[who].external_id()
        ev["anonymousId"] = s.device.anonymous_id
        if s.buffer is None:
            ev["timestamp"] = s.t
        else:
            # The device clock is off: only originalTimestamp (device time), sentAt (device
            # time) and receivedAt (server time) are known; see _flush.
            skew = timedelta(milliseconds=round(s.device.skew * 1000))
            ev.update(originalTimestamp=s.t + skew, sentAt=None, receivedAt=None)
            s.buffer.append(ev)
        if props is not None:
            ev["properties"] = props
        if traits is not None:
            ev["traits"] = traits
        ctx = {k: dict(v) if isinstance(v, dict) else v for k, v in s.ctx.items()}
        if s.page is not None:
            ctx["page"] = dict(s.page)
        if s.campaign and s.landing:
            ctx["campaign"] = dict(s.campaign)
        ev["context"] = ctx
        self._record(s.person, s.t, ev)

    def emit_server(self, p: Person, t: datetime, kind: str, name: str | None,
                    ids: dict[str, Any], *, props: dict[str, Any] | None = None) -> None:
        """An event the back end sends: e-mail service, refunds, late aliases."""
        ev: dict[str, Any] = {"type": kind}
        if name is not None:
            ev["event"] = name
        ev["messageId"] = self.next_id("message")
        ev.update(ids)
        if "userId" not in ev and "anonymousId" not in ev:
            ev["userId"] = p.uid if kind == "alias" else p.external_id()
        ev["timestamp"] = t
        if props is not None:
            ev["properties"] = props
        ev["context"] = server_context(p.email if kind == "track" else None)
        self._record(p, t, ev)

    def _record(self, p: Person, t: datetime, ev: dict[str, Any]) -> None:
        self.truth[ev["messageId"]] = p.uid
        self.events.append((t, self.counters["message"], ev))

    def _flush(self, s: Session) -> None:
        # The SDK sends its queue in one batch at the end: sentAt is the device's clock at
        # sending, receivedAt the server's. receivedAt - (sentAt - originalTimestamp) is
        # then exactly the true time.
        if not s.buffer:
            return
        sent_true = to_ms(s.t + timedelta(seconds=self.rng.uniform(1, 30)))
        skew = timedelta(milliseconds=round(s.device.skew * 1000))
        for ev in s.buffer:
            ev["sentAt"] = sent_true + skew
            ev["receivedAt"] = sent_true
