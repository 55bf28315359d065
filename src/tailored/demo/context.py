"""When people shop and what their devices say about it: time patterns and Segment context.

Sessions follow a weekly pattern (busier weekends), a daily cycle in the person's own time
zone (evening peak, lunch bump) and promotion spikes. Context is built the way each SDK
builds it: analytics.js sends the page, user agent and UTM campaign; the mobile SDKs send
app, device and OS; TV apps send a device of type "tv".
"""

from __future__ import annotations

import functools
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from tailored.demo.people import Device, Person

__all__ = [
    "SHOP_URL",
    "app_release",
    "campaign_for",
    "campaign_query",
    "device_context",
    "iso",
    "local_hour",
    "poisson",
    "server_context",
    "session_starts",
    "to_ms",
    "utc_offset",
]

SHOP_URL = "https://shop.example.com"
_WEEKDAY = (0.9, 0.85, 0.9, 0.95, 1.0, 1.3, 1.35)  # Monday first
_HOURS_WEEKDAY = (1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 2.5, 2.0, 2.0, 2.3, 3.0, 2.8, 2.2,
                  2.2, 2.4, 2.8, 3.5, 4.5, 5.0, 4.5, 3.0, 1.8)
_HOURS_WEEKEND = (1.5, 0.8, 0.5, 0.3, 0.2, 0.3, 0.5, 1.0, 1.8, 2.5, 3.0, 3.3, 3.5, 3.3, 3.2,
                  3.3, 3.5, 3.8, 4.2, 5.0, 5.5, 5.0, 3.5, 2.2)
# (version, build, release as a fraction of the window; negative = before it starts)
_RELEASES = (("5.1.0", "510", -0.5), ("5.2.0", "520", 0.2), ("5.3.0", "530", 0.6))
_LIBRARY_VERSIONS = {"analytics.js": "4.15.3", "analytics-ios": "4.1.8",
                     "analytics-android": "4.11.3", "analytics-python": "2.3.3"}


def to_ms(t: datetime) -> datetime:
    """``t`` cut to whole milliseconds, so ISO text round-trips exactly."""
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def iso(t: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a Z, as Segment writes it."""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _last_sunday(year: int, month: int) -> datetime:
    day = datetime(year, month + 1, 1, tzinfo=UTC) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


@functools.cache
def _summer_time(year: int) -> tuple[datetime, datetime]:
    # EU summer time: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    hour = timedelta(hours=1)
    return _last_sunday(year, 3) + hour, _last_sunday(year, 10) + hour


def utc_offset(t: datetime, winter: int) -> int:
    """Hours ahead of UTC at ``t`` for a European zone ``winter`` hours ahead in winter."""
    begin, end = _summer_time(t.year)
    return winter + (1 if begin <= t < end else 0)


def local_hour(t: datetime, person: Person) -> tuple[int, int]:
    """(hour, weekday) at ``t`` where the person lives."""
    local = t + timedelta(hours=utc_offset(t, person.city[6]))
    return local.hour, local.weekday()


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; the rates here are small)."""
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def session_starts(
    rng: random.Random, p: Person, start: datetime, days: int, promos: list[dict[str, Any]]
) -> list[datetime]:
    """When ``p`` opens the shop, from first sight until the window ends or they churn."""
    end = start + timedelta(days=days)
    last = min(end, p.churn_at) if p.churn_at else end
    boost = 2.6 if p.segment == "bargain-hunter" else 1.7
    out: list[datetime] = []
    for d in range(days):
        day = start + timedelta(days=d)
        if day + timedelta(days=1) < p.first_seen or day >= last:
            continue
        weekday = day.weekday()
        rate = p.rate * _WEEKDAY[weekday]
        if any(pr["start"] <= day + timedelta(hours=12) < pr["end"] for pr in promos):
            rate *= boost
        hours = _HOURS_WEEKEND if weekday >= 5 else _HOURS_WEEKDAY
        offset = utc_offset(day, p.city[6])
        for _ in range(poisson(rng, rate)):
            hour = rng.choices(range(24), weights=hours)[0]
            t = day + timedelta(hours=hour - offset, seconds=rng.uniform(0, 3600))
            if p.first_seen <= t < last:
                out.append(to_ms(t))
    out.sort()
    return out


def app_release(t: datetime, dev: Device, start: datetime, days: int) -> tuple[str, str]:
    """The (version, build) of the shop app installed on ``dev`` at ``t``."""
    current = _RELEASES[0]
    for release in _RELEASES:
        released = start + timedelta(days=release[2] * days + dev.app_lag)
        if released <= t:
            current = release
    return current[0], current[1]


def campaign_for(rng: random.Random, promo: dict[str, Any] | None) -> tuple[
        dict[str, str] | None, str]:
    """A web session's UTM campaign (or None) and the referrer it arrived from."""
    roll = rng.random()
    if roll < 0.12:
        return ({"source": "google", "medium": "cpc", "name": rng.choice(
            ("brand-search", "generic-search", "shopping")), "term": rng.choice(
            ("tailored shop", "buy online", "gift ideas"))}, "https://www.google.com/")
    if roll < 0.2:
        name = promo["name"] if promo else rng.choice(("retargeting", "new-arrivals"))
        return ({"source": "facebook", "medium": "paid_social", "name": name,
                 "content": rng.choice(("carousel", "video", "story"))},
                "https://m.facebook.com/")
    if roll < 0.25:
        return ({"source": "instagram", "medium": "social", "name": "influencer-collab"},
                "https://l.instagram.com/")
    if roll < 0.29:
        return ({"source": "idealo", "medium": "affiliate", "name": "price-comparison"},
                "https://www.idealo.de/")
    if roll < 0.45:
        return None, "https://www.google.com/"  # organic search: a referrer, no UTM
    return None, ""


def campaign_query(campaign: dict[str, str] | None) -> str:
    """The ?utm_... query string analytics.js would have parsed the campaign from."""
    if not campaign:
        return ""
    keys = (("source", "utm_source"), ("medium", "utm_medium"), ("name", "utm_campaign"),
            ("term", "utm_term"), ("content", "utm_content"))
    return "?" + "&".join(f"{u}={quote_plus(campaign[k])}" for k, u in keys if k in campaign)


def device_context(
    dev: Device, person: Person, t: datetime, ip: str, start: datetime, days: int, wifi: bool
) -> dict[str, Any]:
    """The context every event of a session on ``dev`` carries (page is added per event)."""
    ctx: dict[str, Any] = {"ip": ip, "library": {"name": dev.library,
                                                  "version": _LIBRARY_VERSIONS[dev.library]}}
    ctx["locale"], ctx["timezone"] = person.city[4], person.city[3]
    if dev.platform == "web":
        ctx["userAgent"] = dev.user_agent
        return ctx
    version, build = app_release(t, dev, start, days)
    name = "Tailored Shop TV" if dev.platform == "tv" else "Tailored Shop"
    ctx["app"] = {"name": name, "version": version, "build": build,
                  "namespace": "com.example.tailoredshop"}
    ctx["device"] = {"id": dev.device_id, "type": dev.platform, "manufacturer": dev.manufacturer,
                     "model": dev.model}
    ctx["os"] = {"name": dev.os_name, "version": dev.os_version}
    ctx["network"] = {"wifi": wifi, "cellular": not wifi}
    return ctx


def server_context(email: str | None = None) -> dict[str, Any]:
    """Context of events the shop's back end sends (e-mail service, refunds)."""
    ctx: dict[str, Any] = {"library": {"name": "analytics-python",
                                       "version": _LIBRARY_VERSIONS["analytics-python"]}}
    if email:
        ctx["traits"] = {"email": email}
    return ctx
