"""E-mail campaigns: a weekly newsletter and a blast at the start of each promotion.

Events come from the e-mail service (a server library, userId and the address in
context.traits). A click brings the person to the shop a few seconds later, with the
campaign in the session's UTM parameters.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tailored.demo.context import to_ms
from tailored.ingest.sources.records import stable_message_id

if TYPE_CHECKING:
    from datetime import datetime

    from tailored.demo.people import Person
    from tailored.demo.sessions import Simulator

__all__ = ["deliver", "plan"]


def plan(sim: Simulator, p: Person) -> None:
    """Schedule the e-mails ``p`` opens (and the clicks that bring them back)."""
    rng = sim.rng
    # The newsletter goes out on Friday afternoons, ahead of weekend shopping.
    friday = sim.start.replace(hour=15, minute=0, second=0, microsecond=0) + timedelta(
        days=(4 - sim.start.weekday()) % 7)
    sends = [(friday + timedelta(days=7 * w), f"newsletter-{w + 1:02d}",
              "This week's picks for you", False) for w in range(sim.days // 7 + 1)]
    sends += [(pr["start"] + timedelta(hours=6), f"{pr['name']}-blast",
               f"{pr['discount_pct']}% off starts now", True) for pr in sim.promos]
    sends.sort()
    base = {"heavy": 0.45, "regular": 0.3, "light": 0.18}[p.activity]
    for send, campaign_id, subject, promo in sends:
        if not p.email_opt_in or p.signup_at > send or send >= sim.end:
            continue
        churned = p.churn_at is not None and send >= p.churn_at
        chance = base * (0.25 if churned else 1.0) * (1.3 if promo else 1.0)
        if rng.random() < chance:
            opened = send + timedelta(hours=math.exp(rng.gauss(math.log(2.5), 1.0)))
            click = not churned and rng.random() < (0.35 if promo else 0.22)
            sim.schedule(to_ms(opened), "email", p, {
                "campaign_id": campaign_id, "subject": subject, "click": click,
                "email_id": stable_message_id("email", sim.seed, campaign_id, p.uid)[:18]})


def deliver(sim: Simulator, p: Person, t: datetime, mail: dict[str, Any]) -> None:
    """The e-mail service reports an open, and maybe a click that starts a session."""
    props = {"campaign_id": mail["campaign_id"], "campaign_name": mail["campaign_id"],
             "email_id": mail["email_id"], "email_subject": mail["subject"]}
    sim.emit_server(p, t, "track", "Email Opened", {}, props=props)
    if mail["click"]:
        clicked = to_ms(t + timedelta(seconds=sim.rng.uniform(15, 180)))
        link = {**props, "link_id": "cta-main", "url": "https://shop.example.com/"}
        sim.emit_server(p, clicked, "track", "Email Link Clicked", {}, props=link)
        campaign = {"source": "newsletter", "medium": "email", "name": mail["campaign_id"]}
        sim.schedule(clicked + timedelta(seconds=3), "session", p, {"campaign": campaign})
