"""What a campaign changed: per variant (the holdout is one), people, sent, delivered,
opened, clicked, converted, revenue, unsubscribed; each variant's lift against the holdout
and against the first variant, with its 95 % interval and p-value; a sample-ratio check.

Conversions are counted as intention to treat: everyone assigned to a variant counts from
the moment they were assigned (the holdout too, who were never sent anything), whether the
message reached them or not, so the arms stay comparable. A conversion is the goal event
within ``goal_days`` of that moment; revenue is the sum of those events' ``revenue`` (else
``total``, else ``value``). Revenue per person is compared with CUPED, the covariate being
each person's spend on the goal event in the 14 days before they were assigned. Machine
opens and clicks are not counted (docs/campaigns.md, tracking).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from tailored.campaigns.definitions import get_campaign
from tailored.campaigns.experiments import (
    HOLDOUT,
    SRM_ALPHA,
    mean_lift,
    proportion_lift,
    sample_size,
    srm_p_value,
)
from tailored.campaigns.offers import coupons_of
from tailored.store.tables import events, outbox, profiles

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["CUPED_DAYS", "campaign_report", "revenue_of"]

CUPED_DAYS = 14
_NUMBER_KEYS = ("revenue", "total", "value")


def revenue_of(properties: dict[str, Any] | None) -> float:
    for key in _NUMBER_KEYS:
        value = (properties or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and np.isfinite(value):
            return float(value)
    return 0.0


def _current(conn: sa.Connection, pids: list[str]) -> dict[str, str]:
    out = {p: p for p in pids}
    for i in range(0, len(pids), 900):
        for pid, into in conn.execute(
                sa.select(profiles.c.profile_id, profiles.c.merged_into)
                .where(profiles.c.profile_id.in_(pids[i:i + 900]),
                       profiles.c.merged_into.is_not(None))):
            out[pid] = into
    return out


def _goal_events(conn: sa.Connection, goal: str, people: list[str], since: datetime
                 ) -> dict[str, list[tuple[datetime, float]]]:
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for i in range(0, len(people), 900):
        for pid, at, props in conn.execute(
                sa.select(events.c.profile_id, events.c.timestamp, events.c.properties)
                .where(events.c.profile_id.in_(people[i:i + 900]), events.c.event == goal,
                       events.c.timestamp >= since)):
            out[pid].append((at, revenue_of(props)))
    return out


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def _lift_row(variant: str, against: str, metric: str, stats: dict[str, Any]
              ) -> dict[str, Any]:
    low, high = stats["ci95"]
    row = {"variant": variant, "against": against, "metric": metric,
           "lift": _round(stats["lift"]), "ci95": [_round(low), _round(high)],
           "p_value": _round(stats["p_value"], 8)}
    if "variance_reduction" in stats:
        row["cuped"] = stats["cuped"]
        row["variance_reduction"] = _round(stats["variance_reduction"], 4)
    return row


def campaign_report(store: Store, name: str) -> dict[str, Any]:
    """The report of campaign ``name`` (see the module's docstring)."""
    spec = get_campaign(store, name)
    goal = spec.goal
    window = timedelta(days=spec.goal_days)
    with store.reading() as conn:
        rows = conn.execute(sa.select(
            outbox.c.profile_id, outbox.c.variant, outbox.c.status, outbox.c.created_at,
            outbox.c.opened_at, outbox.c.clicked_at, outbox.c.unsubscribed_at)
            .where(outbox.c.campaign == name).order_by(outbox.c.id)).all()
        current = _current(conn, sorted({r.profile_id for r in rows}))
        people = sorted(set(current.values()))
        since = min((r.created_at for r in rows), default=None)
        goals = (_goal_events(conn, goal, people, since - timedelta(days=CUPED_DAYS))
                 if goal and since is not None else {})
    arms = [HOLDOUT, *spec.variant_names()] if spec.holdout > 0 or any(
        r.variant == HOLDOUT for r in rows) else spec.variant_names()
    # A person counts once per arm (a recurring campaign's later runs add no new person).
    first: dict[tuple[str, str], Any] = {}
    for r in rows:
        first.setdefault((r.variant, current[r.profile_id]), r)
    per: dict[str, dict[str, Any]] = {a: {
        "variant": a, "people": 0, "sent": 0, "delivered": 0, "opened": 0, "clicked": 0,
        "converted": 0, "conversion_rate": None, "revenue": 0.0,
        "revenue_per_person": None, "unsubscribed": 0} for a in arms}
    values: dict[str, list[float]] = defaultdict(list)
    pre: dict[str, list[float]] = defaultdict(list)
    for (variant, person), r in first.items():
        if variant not in per:
            continue
        v = per[variant]
        v["people"] += 1
        v["sent"] += r.status in ("sent", "bounced")
        v["delivered"] += r.status == "sent"
        v["opened"] += r.opened_at is not None
        v["clicked"] += r.clicked_at is not None
        v["unsubscribed"] += r.unsubscribed_at is not None
        start, end = r.created_at, r.created_at + window
        spent = [amount for at, amount in goals.get(person, ()) if start <= at < end]
        before = sum(amount for at, amount in goals.get(person, ())
                     if start - timedelta(days=CUPED_DAYS) <= at < start)
        v["converted"] += bool(spent)
        v["revenue"] += sum(spent)
        values[variant].append(sum(spent))
        pre[variant].append(before)
    for v in per.values():
        if v["people"]:
            v["conversion_rate"] = _round(v["converted"] / v["people"])
            v["revenue_per_person"] = _round(v["revenue"] / v["people"], 4)
        v["revenue"] = round(v["revenue"], 2)
    lifts = []
    baselines = ([HOLDOUT] if HOLDOUT in per else []) + (
        [spec.variants[0].name] if len(spec.variants) > 1 else [])
    for against in baselines:
        for variant in spec.variant_names():
            if variant == against:
                continue
            t, c = per[variant], per[against]
            lifts.append(_lift_row(variant, against, "conversion_rate", proportion_lift(
                t["converted"], t["people"], c["converted"], c["people"])))
            if t["people"] >= 2 and c["people"] >= 2:
                stats = mean_lift(values[variant], values[against], pre_t=pre[variant],
                                  pre_c=pre[against])
                lifts.append(_lift_row(variant, against, "revenue_per_person", stats))
    total_weight = sum(v.weight for v in spec.variants)
    shares = {v.name: (1 - spec.holdout) * v.weight / total_weight for v in spec.variants}
    if HOLDOUT in per:
        shares[HOLDOUT] = spec.holdout
    if spec.allocation == "thompson":
        # Variants' shares move by design; only the holdout's share is fixed.
        observed = {HOLDOUT: per[HOLDOUT]["people"],
                    "sent": sum(per[v]["people"] for v in spec.variant_names())} \
            if HOLDOUT in per else {}
        srm = srm_p_value(observed, {HOLDOUT: spec.holdout, "sent": 1 - spec.holdout}) \
            if observed else None
    else:
        srm = srm_p_value({a: per[a]["people"] for a in per}, shares) \
            if all(s > 0 for s in shares.values()) else None
    report: dict[str, Any] = {
        "campaign": name, "channel": spec.channel, "goal": goal,
        "goal_days": spec.goal_days, "variants": list(per.values()), "lift": lifts,
        "srm_p_value": _round(srm, 8), "srm_alarm": srm is not None and srm < SRM_ALPHA}
    report["coupons"] = coupons_of(store, name)
    base = per.get(HOLDOUT) or per[spec.variants[0].name]
    rate = base["conversion_rate"]
    if rate is not None and 0 < rate < 0.9 and 0 < spec.holdout < 1:
        need = sample_size(rate, 0.1, holdout_share=spec.holdout)
        report["sample_size_for_10pct_lift"] = need
    return report
