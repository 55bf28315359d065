"""One person's message: their traits, live counters, segments, recommendations (each with
its reason) and their own signed unsubscribe link, put into a template."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tailored.campaigns.offers import CODE_LENGTH, coupon_for
from tailored.campaigns.signing import DEFAULT_PUBLIC_URL, Signer, signing_key
from tailored.campaigns.templates import MessageTemplate, Rendered, render
from tailored.errors import InvalidInput
from tailored.realtime.profile_view import with_live
from tailored.recommend import MAX_K, Filters
from tailored.recommend.training import recommendations_for

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.recommend.model_store import ModelStore
    from tailored.store import Store

__all__ = ["ITEM_FIELDS", "render_for", "unsubscribe_url"]

#: What each item of ``recommendations(k)`` has, in a template.
ITEM_FIELDS = ("item_id", "title", "category", "brand", "price", "currency", "image_url",
               "url", "reason", "score")


def unsubscribe_url(store: Store, settings: Settings, profile_id: str, *, channel: str,
                    campaign: str | None = None) -> str:
    """The person's own one-click unsubscribe link (a signed token naming them)."""
    token = Signer(signing_key(store, settings), "unsubscribe").sign(
        {"p": profile_id, "ch": channel, "c": campaign})
    return f"{settings.public_url or DEFAULT_PUBLIC_URL}/v1/unsubscribe/{token}"


def render_for(store: Store, models: ModelStore, settings: Settings,
               template: MessageTemplate | Callable[[list[str]], MessageTemplate],
               person: str, *, channel: str = "email", campaign: str | None = None
               ) -> Rendered:
    """``template`` for ``person`` (any of their ids); :class:`NotFound` for an unknown one.
    ``template`` may be a choice by the person's current segments (variants per segment)."""
    profile = with_live(store, store.profile(person))
    pid = str(profile["profile_id"])
    if not isinstance(template, MessageTemplate):
        template = template(list(profile.get("segments") or []))
    loaded: dict[str | None, Any] = {}

    def recommendations(k: int = 4, model: str | None = None) -> list[dict[str, Any]]:
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidInput(f"recommendations(k): k must be a whole number from 1 to "
                               f"{MAX_K}, got {k!r}", field="k")
        if model not in loaded:
            loaded[model] = models.load(models.resolve(model, settings.default_model))
        items = recommendations_for(loaded[model], store, pid, k, Filters())["items"]
        # Every field there for every item (None where the catalogue has nothing), so a
        # template may write {% if item.image_url %} and never fail on a missing key.
        return [{**dict.fromkeys(ITEM_FIELDS), **item} for item in items]

    def coupon(days: float = 14) -> str:
        if campaign is None:  # a preview: a sample, nothing stored
            return "PREVIEW" + "0" * (CODE_LENGTH - 7)
        return coupon_for(store, campaign, pid, days=days)

    return render(template, traits=profile.get("traits") or {}, live=profile.get("live"),
                  segments=profile.get("segments") or [], profile_id=pid,
                  unsubscribe_url=unsubscribe_url(store, settings, pid, channel=channel,
                                                  campaign=campaign),
                  recommendations=recommendations, coupon=coupon)
