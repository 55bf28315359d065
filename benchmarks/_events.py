"""Realistic Segment events for the benchmarks, generated in memory from a seed.

People browse a shop on one to three devices (web, iOS, Android, a TV). A logged-in session
starts with an ``identify`` and carries both ``userId`` and the device's ``anonymousId``; about
5 % of sessions are anonymous browsing (a new browser or a fresh install) that ends with an
``identify``, so stitching has anonymous profiles to merge into known people; some TVs are
shared by two people of a household (the device is relinked, the people are not merged).
About 2 % of the stream are re-deliveries of an earlier event (same ``messageId``, as an SDK
retry sends them), some within the same ingest chunk and some across chunks. Mobile SDKs send
``originalTimestamp`` + ``sentAt`` (so the skew correction runs); web sends ``timestamp``.

``merge_rate`` sets how many events in the stream cause an actual merge (an anonymous
profile joining a known person), from 0.2 % to 20 %: more sessions start on a new device or
a fresh browser, and those sessions get shorter, as in an app where people log in on every
new device. A repeat ``identify`` of a known (user, device) pair is not a merge, so the
identify share is always higher than the merge share; ``stream_stats`` counts identifies,
and the ingest report counts the merges that really happened.

Everything is deterministic for a given seed and count.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["MERGE_RATES", "generate_events", "stream_stats"]

# The range the merge-rate knob is meant for (merges per event).
MERGE_RATES = (0.002, 0.20)
# Mean length of a logged-in session: an identify and 3–25 events.
_KNOWN_SESSION = 15.0

_FUNNEL = [
    # (event name, weight, needs a product)
    ("Product Viewed", 30, True),
    ("Product List Viewed", 12, False),
    ("Products Searched", 10, False),
    ("Product Clicked", 10, True),
    ("Product Added", 8, True),
    ("Cart Viewed", 5, False),
    ("Checkout Started", 3, False),
    ("Order Completed", 2, False),
    ("Product Added to Wishlist", 2, True),
    ("Product Rated", 2, True),
    ("Email Opened", 2, False),
    ("Coupon Applied", 1, False),
    ("Survey Answered", 1, False),
]
_FUNNEL_NAMES = [f[0] for f in _FUNNEL]
_FUNNEL_WEIGHTS = [f[1] for f in _FUNNEL]
_CATEGORIES = ["Shoes", "Outerwear", "Kitchen", "Books", "Toys", "Garden", "Audio", "Beauty"]
_BRANDS = ["Acme", "Nordlys", "Kumo", "Verde", "Brightline", "Oakhill"]
_SEARCHES = ["running shoes", "rain jacket", "espresso", "lego", "headphones", "gift for dad"]
_PAGES = ["/", "/category", "/product", "/cart", "/checkout", "/account", "/search"]
_FIRST = ["Ada", "Ben", "Chen", "Dana", "Emil", "Fatma", "Goran", "Hana", "Ivo", "Jun", "Lea"]
_LAST = ["Smith", "Li", "Novak", "Garcia", "Okafor", "Berg", "Tanaka", "Rossi", "Kaya"]
_LOCALES = [("en-US", "America/New_York"), ("en-GB", "Europe/London"),
            ("de-DE", "Europe/Berlin"), ("zh-CN", "Asia/Shanghai"), ("fr-FR", "Europe/Paris")]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class _Gen:
    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.tvs: list[dict[str, Any]] = []

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def device(self, kind: str) -> dict[str, Any]:
        r = self.rng
        anon = self.uid()
        if kind == "web":
            agent = r.choice([
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/17.4",
                "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            ])
            ctx = {"library": {"name": "analytics.js", "version": "5.2.0"}, "userAgent": agent}
        elif kind == "ios":
            ctx = {
                "library": {"name": "analytics-swift", "version": "1.5.2"},
                "device": {"id": self.uid(), "type": "ios", "manufacturer": "Apple",
                           "model": r.choice(["iPhone15,2", "iPhone14,5", "iPad13,4"])},
                "os": {"name": "iOS", "version": r.choice(["17.4", "17.2", "16.7"])},
                "app": {"name": "Shop", "version": "4.12.0", "build": "4120"},
            }
        elif kind == "android":
            ctx = {
                "library": {"name": "analytics-kotlin", "version": "1.14.2"},
                "device": {"id": self.uid(), "type": "android",
                           "manufacturer": r.choice(["samsung", "Google", "Xiaomi"]),
                           "model": r.choice(["SM-S911B", "Pixel 8", "2201116SG"])},
                "os": {"name": "Android", "version": r.choice(["14", "13", "12"])},
                "app": {"name": "Shop", "version": "4.12.1", "build": "41201"},
            }
        else:  # a living-room TV
            ctx = {
                "library": {"name": "analytics-kotlin", "version": "1.14.2"},
                "device": {"id": self.uid(), "type": "tv", "manufacturer": "Sony",
                           "model": "BRAVIA 4K"},
                "os": {"name": "Android TV", "version": "12"},
                "app": {"name": "Shop TV", "version": "2.3.0"},
            }
        locale, tz = r.choice(_LOCALES)
        ip = ".".join(str(r.randint(lo, hi)) for lo, hi in ((1, 223), (0, 255), (0, 255), (1, 254)))
        ctx.update(locale=locale, timezone=tz, ip=ip)
        return {"kind": kind, "anonymous_id": anon, "context": ctx}

    def person(self, i: int) -> dict[str, Any]:
        r = self.rng
        first, last = r.choice(_FIRST), r.choice(_LAST)
        kinds = ["web", *r.sample(["ios", "android", "web", "tv"], r.choice([0, 1, 1, 2]))]
        return {
            "user_id": f"user-{i:07d}",
            "traits": {"email": f"{first}.{last}.{i}@example.com".upper() if i % 17 == 0
                       else f"{first}.{last}.{i}@example.com".lower(),
                       "firstName": first, "lastName": last,
                       "plan": r.choice(["free", "plus", "pro"]),
                       "age": r.randint(18, 80)},
            "devices": [self.shared_tv() if k == "tv" else self.device(k) for k in kinds],
        }

    def shared_tv(self) -> dict[str, Any]:
        # A third of TVs are a household's: two people on one device id (relinks, no merge).
        if self.tvs and self.rng.random() < 0.33:
            return self.tvs.pop(self.rng.randrange(len(self.tvs)))
        tv = self.device("tv")
        self.tvs.append(tv)
        return tv

    def properties(self, name: str) -> dict[str, Any]:
        r = self.rng
        pid = f"sku-{r.randint(1, 5000):05d}"
        price = round(r.uniform(3, 250), 2)
        if name in ("Product Viewed", "Product Clicked", "Product Added",
                    "Product Added to Wishlist"):
            return {"product_id": pid, "sku": pid, "category": r.choice(_CATEGORIES),
                    "brand": r.choice(_BRANDS), "price": price, "currency": "USD",
                    "quantity": 1 if name == "Product Added" else None,
                    "position": r.randint(1, 24)}
        if name == "Product Rated":
            return {"product_id": pid, "rating": r.randint(1, 5)}
        if name == "Products Searched":
            return {"query": r.choice(_SEARCHES)}
        if name == "Product List Viewed":
            return {"list_id": "cat-" + r.choice(_CATEGORIES).lower(),
                    "category": r.choice(_CATEGORIES),
                    "products": [{"product_id": f"sku-{r.randint(1, 5000):05d}",
                                  "position": k + 1} for k in range(r.randint(2, 6))]}
        if name in ("Order Completed", "Checkout Started"):
            n = r.randint(1, 4)
            products: list[dict[str, Any]] = [{"product_id": f"sku-{r.randint(1, 5000):05d}",
                         "price": round(r.uniform(3, 250), 2), "quantity": r.randint(1, 3)}
                        for _ in range(n)]
            total = round(sum(p["price"] * p["quantity"] for p in products), 2)
            return {"order_id": f"ord-{r.getrandbits(40):010x}", "total": total,
                    "revenue": total, "currency": "USD", "products": products}
        if name == "Survey Answered":
            return {"survey": "nps", "score": r.randint(0, 10)}
        if name == "Coupon Applied":
            return {"coupon_id": "SPRING10", "discount": 10}
        if name == "Email Opened":
            return {"campaign_id": "cmp-2024-05", "email_subject": "New arrivals"}
        return {"cart_id": f"cart-{r.getrandbits(32):08x}"}

    def event(self, kind: str, dev: dict[str, Any], t: datetime, user_id: str | None,
              anonymous_id: str, **extra: Any) -> dict[str, Any]:
        ev: dict[str, Any] = {"type": kind, "messageId": self.uid(), "anonymousId": anonymous_id,
                              "context": dev["context"]}
        if user_id is not None:
            ev["userId"] = user_id
        if dev["kind"] == "web":
            ev["timestamp"] = _iso(t)
        else:  # mobile SDKs: the device clock, and when the queued batch was sent (now)
            ev["originalTimestamp"] = _iso(t)
            ev["sentAt"] = _iso(self.now - timedelta(seconds=self.rng.uniform(0.5, 30)))
        ev["integrations"] = {}
        ev.update(extra)
        return ev

    def session(self, person: dict[str, Any], anonymous: bool, start: datetime,
                anonymous_length: float | None = None) -> list[tuple[datetime, dict[str, Any]]]:
        r = self.rng
        if anonymous:
            # A new browser or a fresh install: nothing links it to the person yet.
            dev = self.device(r.choice(["web", "web", "ios", "android"]))
            # Known from this session on: a logged-in session earlier in time cannot use it
            # (that would tie it to the person before its anonymous history, and no merge).
            dev["since"] = start
            person["devices"].append(dev)
        else:
            dev = r.choice([d for d in person["devices"] if d.get("since", start) <= start])
        anon, user = dev["anonymous_id"], person["user_id"]
        uid = None if anonymous else user
        out = []
        t = start
        if anonymous and anonymous_length is not None:
            # Anonymous events before the login, ``anonymous_length`` of them on average.
            length = max(1, round(r.uniform(0.5, 2 * anonymous_length - 0.5)))
        else:
            length = r.randint(3, 25)
        if not anonymous:
            out.append((t, self.event("identify", dev, t, user, anon,
                                      traits=dict(person["traits"]))))
        for _ in range(length):
            t += timedelta(seconds=r.expovariate(1 / 40))
            if r.random() < 0.35:
                path = r.choice(_PAGES)
                ev = self.event("page", dev, t, uid, anon, name=path.strip("/") or "Home",
                                properties={"path": path, "url": "https://shop.example.com" + path,
                                            "title": "Shop", "referrer": ""})
            else:
                name = r.choices(_FUNNEL_NAMES, _FUNNEL_WEIGHTS)[0]
                ev = self.event("track", dev, t, uid, anon, event=name,
                                properties=self.properties(name))
            out.append((t, ev))
        if anonymous:  # logs in at the end: the anonymous history joins the person
            t += timedelta(seconds=r.uniform(5, 120))
            out.append((t, self.event("identify", dev, t, user, anon,
                                      traits=dict(person["traits"]))))
        return out


def _anonymous_sessions(merge_rate: float) -> tuple[float, float]:
    """The share of sessions that start anonymous on a new device, and their mean number of
    anonymous events, that make ``merge_rate`` merges per event.

    Each such session ends in one merge. With a share p of them, of mean length L (the
    anonymous events and the identify), merges per event are p / (p L + (1 - p) K) where K
    is a logged-in session's mean length; solved for p.
    """
    lo, hi = MERGE_RATES
    if not lo <= merge_rate <= hi:
        raise ValueError(f"merge_rate must be between {lo} and {hi}, got {merge_rate}")
    length = min(_KNOWN_SESSION, 0.5 / merge_rate)
    share = merge_rate * _KNOWN_SESSION / (1 - merge_rate * length
                                           + merge_rate * _KNOWN_SESSION)
    return min(1.0, share), length - 1


def generate_events(n: int, *, seed: int = 7, duplicate_rate: float = 0.02,
                    anonymous_session_rate: float = 0.05, merge_rate: float | None = None,
                    now: datetime | None = None) -> list[dict[str, Any]]:
    """``n`` raw Segment events (dicts), in arrival order, ~``duplicate_rate`` re-deliveries.

    ``merge_rate`` (0.002–0.2 merges per event) overrides ``anonymous_session_rate``.
    """
    now = now or datetime.now(UTC).replace(microsecond=0)
    anonymous_length: float | None = None
    if merge_rate is not None:
        anonymous_session_rate, anonymous_length = _anonymous_sessions(merge_rate)
    g = _Gen(seed, now)
    r = g.rng
    n_dup = round(n * duplicate_rate)
    n_unique = n - n_dup
    n_people = max(20, n_unique // 30)
    people = [g.person(i) for i in range(n_people)]
    # Some people are much busier than others.
    weights = [1 / (1 + i) ** 0.6 for i in range(n_people)]
    r.shuffle(weights)
    timed: list[tuple[datetime, dict[str, Any]]] = []
    span = timedelta(days=30).total_seconds()
    while len(timed) < n_unique:
        person = r.choices(people, weights)[0]
        start = now - timedelta(seconds=r.uniform(3600, span))
        timed.extend(g.session(person, r.random() < anonymous_session_rate, start,
                               anonymous_length))
    timed.sort(key=lambda x: x[0])
    events = [ev for _, ev in timed[:n_unique]]
    # Re-deliveries: the same event again, a little later (same chunk) or much later.
    for _ in range(n_dup):
        i = r.randrange(len(events))
        j = min(len(events), i + (r.randint(1, 500) if r.random() < 0.5 else
                                  r.randint(2000, 50_000)))
        events.insert(j, events[i])
    return events


def stream_stats(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What the stream holds: counts by type, distinct messageIds, anonymous events, and
    identifies per event (merges are what the ingest report counts)."""
    by_type: dict[str, int] = {}
    for ev in events:
        by_type[ev["type"]] = by_type.get(ev["type"], 0) + 1
    return {
        "events": len(events),
        "by_type": by_type,
        "unique_message_ids": len({ev["messageId"] for ev in events}),
        "anonymous_events": sum(1 for ev in events if "userId" not in ev),
        "users": len({ev["userId"] for ev in events if "userId" in ev}),
        "identifies_per_event": round(by_type.get("identify", 0) / max(1, len(events)), 4),
    }
