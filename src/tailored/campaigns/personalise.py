"""One person's message: their traits, live counters, segments, recommendations (each with
its reason) and their own signed unsubscribe link, put into a template."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.campaigns.offers import CODE_LENGTH, coupon_for
from tailored.campaigns.outbox import person_ids
from tailored.campaigns.signing import DEFAULT_PUBLIC_URL, Signer, signing_key
from tailored.campaigns.templates import MessageTemplate, Rendered, render
from tailored.errors import InvalidInput
from tailored.realtime.live_profile import public_view
from tailored.realtime.profile_view import with_live
from tailored.recommend import MAX_K, Filters
from tailored.recommend.training import check_catalog, with_item_fields
from tailored.store.tables import live_profiles, profiles, segment_membership

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.recommend.model_store import ModelStore
    from tailored.store import Store

__all__ = ["ITEM_FIELDS", "people_for", "render_for", "unsubscribe_url"]

#: What each item of ``recommendations(k)`` has, in a template.
ITEM_FIELDS = ("item_id", "title", "category", "brand", "price", "currency", "image_url",
               "url", "reason", "score")


def unsubscribe_url(store: Store, settings: Settings, profile_id: str, *, channel: str,
                    campaign: str | None = None, key: str | None = None) -> str:
    """The person's own one-click unsubscribe link (a signed token naming them)."""
    token = Signer(key or signing_key(store, settings), "unsubscribe").sign(
        {"p": profile_id, "ch": channel, "c": campaign})
    return f"{settings.public_url or DEFAULT_PUBLIC_URL}/v1/unsubscribe/{token}"


def people_for(store: Store, pids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What templates read of many people at once (traits, live counters, segments), by
    the ids given (a profile merged since is read as the person it was merged into):
    three queries for a batch instead of several a person."""
    out: dict[str, dict[str, Any]] = {}
    with store.reading() as conn:
        current = {p: p for p in pids}
        for i in range(0, len(pids), 900):
            chunk = list(pids[i:i + 900])
            for pid, into in conn.execute(
                    sa.select(profiles.c.profile_id, profiles.c.merged_into)
                    .where(profiles.c.profile_id.in_(chunk),
                           profiles.c.merged_into.is_not(None))):
                current[pid] = into
        people = sorted(set(current.values()))
        known = person_ids(conn, people)
        traits: dict[str, Any] = {}
        live: dict[str, Any] = {}
        segments: dict[str, set[str]] = {p: set() for p in people}
        for i in range(0, len(people), 900):
            chunk = people[i:i + 900]
            for pid, doc in conn.execute(sa.select(profiles.c.profile_id, profiles.c.traits)
                                         .where(profiles.c.profile_id.in_(chunk))):
                traits[pid] = store.personal.reveal_traits(doc or {})
            for pid, state in conn.execute(
                    sa.select(live_profiles.c.profile_id, live_profiles.c.state)
                    .where(live_profiles.c.profile_id.in_(chunk))):
                live[pid] = public_view(state)
        ids = list(known)
        for i in range(0, len(ids), 900):
            for pid, segment in conn.execute(
                    sa.select(segment_membership.c.profile_id, segment_membership.c.segment)
                    .where(segment_membership.c.profile_id.in_(ids[i:i + 900]),
                           segment_membership.c.left_at.is_(None))):
                segments[known[pid]].add(segment)
    for asked, pid in current.items():
        if pid in traits:
            out[asked] = {"profile_id": pid, "traits": traits[pid], "live": live.get(pid),
                          "segments": sorted(segments[pid])}
    return out


def render_for(store: Store, models: ModelStore, settings: Settings,
               template: MessageTemplate | Callable[[list[str]], MessageTemplate],
               person: str, *, channel: str = "email", campaign: str | None = None,
               profile: dict[str, Any] | None = None, key: str | None = None,
               unsubscribe: str | None = None, item: dict[str, Any] | None = None,
               models_cache: dict[str | None, Any] | None = None,
               item_cache: dict[str, dict[str, Any]] | None = None) -> Rendered:
    """``template`` for ``person`` (any of their ids); :class:`NotFound` for an unknown one.
    ``template`` may be a choice by the person's current segments (variants per segment);
    ``profile`` (from :func:`people_for`), ``key`` (the signing key), ``models_cache``
    (models loaded by earlier calls, by name) and ``item_cache`` (catalogue fields read by
    them) spare the reads of a campaign's many messages."""
    if profile is None:
        profile = with_live(store, store.profile(person))
    pid = str(profile["profile_id"])
    if not isinstance(template, MessageTemplate):
        template = template(list(profile.get("segments") or []))
    loaded = models_cache if models_cache is not None else {}
    lists: dict[tuple[int, str | None], list[dict[str, Any]]] = {}

    def recommendations(k: int = 4, model: str | None = None) -> list[dict[str, Any]]:
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidInput(f"recommendations(k): k must be a whole number from 1 to "
                               f"{MAX_K}, got {k!r}", field="k")
        if (k, model) in lists:  # the HTML and the text part show the same list
            return lists[k, model]
        if model not in loaded:
            recommender = models.load(models.resolve(model, settings.default_model))
            check_catalog(recommender, store)  # once per model, not once a person
            loaded[model] = recommender
        items = with_item_fields(store, [r.to_dict() for r in loaded[model].recommend(
            pid, k, Filters())], cache=item_cache)
        # Every field there for every item (None where the catalogue has nothing), so a
        # template may write {% if item.image_url %} and never fail on a missing key.
        lists[k, model] = [{**dict.fromkeys(ITEM_FIELDS), **item} for item in items]
        return lists[k, model]

    def coupon(days: float = 14) -> str:
        if campaign is None:  # a preview: a sample, nothing stored
            return "PREVIEW" + "0" * (CODE_LENGTH - 7)
        return coupon_for(store, campaign, pid, days=days)

    return render(template, traits=profile.get("traits") or {}, live=profile.get("live"),
                  segments=profile.get("segments") or [], profile_id=pid,
                  unsubscribe_url=unsubscribe or unsubscribe_url(
                      store, settings, pid, channel=channel, campaign=campaign, key=key),
                  recommendations=recommendations, coupon=coupon, item=item)
