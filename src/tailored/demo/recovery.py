"""How much of a demo shop's hidden truth the identity stitching recovered."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from tailored.store import Store
from tailored.store.tables import events, identities, profiles

__all__ = ["stitching_recovery"]


def stitching_recovery(store: Store, truth: dict[str, Any]) -> dict[str, Any]:
    """Compare the store's profiles with the generator's ground truth.

    - events: share of events on the true person's profile (an event whose device never
      logged in sits on an anonymous profile: counted as ``anonymous``, not as wrong);
    - anonymous ids: share stitched to their true person (shared TVs excluded);
    - wrong merges: profiles that hold two different true people — should be none.
    """
    aliases: dict[str, str] = truth.get("aliases", {})

    def person(uid: str) -> str:
        while uid in aliases:
            uid = aliases[uid]
        return uid

    with store.reading() as conn:
        user_nodes = dict(conn.execute(sa.select(identities.c.value, identities.c.profile_id)
                                       .where(identities.c.kind == "user_id")).all())
        anon_nodes = dict(conn.execute(sa.select(identities.c.value, identities.c.profile_id)
                                       .where(identities.c.kind == "anonymous_id")).all())
        identified = set(conn.scalars(sa.select(profiles.c.profile_id).where(
            profiles.c.user_id.is_not(None), profiles.c.merged_into.is_(None))))
        event_profile = dict(conn.execute(
            sa.select(events.c.message_id, events.c.profile_id)).tuples().all())
    profile_of: dict[str, str] = {}
    people_on: dict[str, set[str]] = {}
    for uid, pid in user_nodes.items():
        profile_of.setdefault(person(uid), pid)
        people_on.setdefault(pid, set()).add(person(uid))

    outcome: Counter[str] = Counter()
    for mid, who in truth.get("events", {}).items():
        pid = event_profile.get(mid)
        if pid is None:
            outcome["missing"] += 1
        elif pid == profile_of.get(person(who)):
            outcome["correct"] += 1
        elif pid not in identified:
            outcome["anonymous"] += 1
        else:
            outcome["wrong"] += 1
    anon: Counter[str] = Counter()
    for aid, who in truth.get("anonymous_ids", {}).items():
        if who == "shared":
            continue
        pid = anon_nodes.get(aid)
        if pid is not None and pid == profile_of.get(person(who)):
            anon["stitched"] += 1
        elif pid is None or pid not in identified:
            anon["still_anonymous"] += 1
        else:
            anon["wrong_person"] += 1
    total_events = sum(outcome.values()) or 1
    total_anon = sum(anon.values()) or 1
    return {
        "events_checked": sum(outcome.values()),
        "events_on_true_person": round(outcome["correct"] / total_events, 4),
        "events_still_anonymous": round(outcome["anonymous"] / total_events, 4),
        "events_on_wrong_person": round(outcome["wrong"] / total_events, 4),
        "events_missing": outcome["missing"],
        "anonymous_ids_checked": sum(anon.values()),
        "anonymous_ids_stitched": round(anon["stitched"] / total_anon, 4),
        "anonymous_ids_on_wrong_person": anon["wrong_person"],
        "people": len(profile_of),
        "wrong_merges": sum(1 for ppl in people_on.values() if len(ppl) > 1),
    }
