"""The demo shop's customers: who they are, their devices, households and friends.

Identity is the point of this module. Each person owns one to three devices; a device has
an anonymousId per app install or browser (and a device.id for apps), and may never log in.
Some households share a smart TV that both people log in on. A few people changed their
user id (an ``alias``), and some left their e-mail on a newsletter form on a device that
never logs in.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tailored.demo.catalog import SEGMENTS
from tailored.demo.vocab import (
    ANDROID_PHONES,
    ANDROID_TABLETS,
    CITIES,
    DESKTOP_AGENTS,
    IOS_PHONES,
    IOS_TABLETS,
    MOBILE_AGENTS,
    NAMES,
    TVS,
)

__all__ = ["Device", "Person", "make_people", "new_anonymous_id", "random_ip"]

_TOPS = ("Electronics", "Home & Kitchen", "Sports & Outdoors", "Fashion", "Books")
_INCOME = ("<20k", "20-40k", "40-70k", "70-100k", "100k+")
_INCOME_WEIGHTS = {
    "tech-enthusiast": (1, 3, 5, 4, 3), "home-cook": (1, 4, 5, 3, 2), "outdoor": (1, 3, 5, 3, 2),
    "fashion": (2, 4, 4, 3, 2), "bookworm": (2, 4, 4, 2, 1), "bargain-hunter": (5, 5, 3, 1, 0.3),
}
_AGE = {"tech-enthusiast": (32, 9), "home-cook": (45, 12), "outdoor": (38, 11),
        "fashion": (30, 8), "bookworm": (47, 14), "bargain-hunter": (40, 14)}
_FEMALE_SHARE = {"tech-enthusiast": 0.35, "home-cook": 0.6, "outdoor": 0.45, "fashion": 0.75,
                 "bookworm": 0.6, "bargain-hunter": 0.5}
# Sessions a day by activity level (the mean of a log-normal spread per person).
_ACTIVITY = (("heavy", 0.1, 0.42), ("regular", 0.3, 0.13), ("light", 0.6, 0.04))


def new_anonymous_id(rng: random.Random) -> str:
    """A UUID v4 as analytics.js and the mobile SDKs make them."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(slots=True)
class Device:
    """One app install, browser or TV; ``anonymous_id`` changes on reinstall or reset."""

    key: str
    platform: str  # web, ios, android, tv
    form: str  # desktop, mobile, phone, tablet, tv
    owners: list[str]
    anonymous_id: str
    device_id: str | None = None
    logs_in: bool = True
    manufacturer: str | None = None
    model: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    library: str = "analytics.js"
    user_agent: str | None = None
    skew: float = 0.0  # seconds the device clock is off
    app_lag: int = 0  # days this device lags behind app releases
    anonymous_ids: list[str] = field(default_factory=list)
    logged_in_as: str | None = None  # canonical user id of whoever is logged in

    @property
    def shared(self) -> bool:
        return len(self.owners) > 1


@dataclass(slots=True)
class Person:
    """A customer, with the hidden truth (segment, activity) and simulation state."""

    uid: str
    first: str
    last: str
    email: str
    gender: str | None
    age: int | None
    city: tuple[str, str, str, str, str, str, int, float]
    income: str
    segment: str
    secondary: str
    price_sensitivity: float
    activity: str
    rate: float
    signup_at: datetime
    first_seen: datetime
    churn_at: datetime | None
    home_ip: str
    email_opt_in: bool
    devices: list[Device] = field(default_factory=list)
    household: str | None = None
    old_id: str | None = None
    alias_at: datetime | None = None
    alias_sent: datetime | None = None
    newsletter: Device | None = None
    friends: list[str] = field(default_factory=list)
    # Simulation state, changed as sessions play out.
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return "zh" if self.city[4] == "zh-CN" else self.city[5]

    def external_id(self) -> str:
        """The userId the shop's systems send for this person right now."""
        return self.old_id if self.old_id and self.alias_sent is None else self.uid


def random_ip(rng: random.Random) -> str:
    """A public-looking IPv4 address (home line or mobile carrier)."""
    first = rng.choice((31, 37, 46, 62, 77, 79, 80, 84, 85, 87, 88, 91, 93, 95, 178, 185, 188,
                        212, 213, 217))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _ascii(text: str) -> str:
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _device(rng: random.Random, key: str, form: str, owner: str, ios: bool) -> Device:
    anon = new_anonymous_id(rng)
    dev = Device(key, "web", form, [owner], anon, anonymous_ids=[anon])
    if form in ("desktop", "mobile"):
        agents = DESKTOP_AGENTS if form == "desktop" else MOBILE_AGENTS
        dev.user_agent = rng.choice(agents).format(v=rng.randint(124, 129), m=rng.randint(4, 6))
        return dev
    table = (IOS_PHONES if ios else ANDROID_PHONES) if form == "phone" else (
        IOS_TABLETS if ios else ANDROID_TABLETS)
    dev.platform = "ios" if ios else "android"
    dev.manufacturer, dev.model, versions = rng.choice(table)
    dev.os_name, dev.os_version = ("iOS" if ios else "Android"), rng.choice(versions)
    dev.library = "analytics-ios" if ios else "analytics-android"
    # iOS reports the upper-case identifierForVendor, Android a 16-digit hex ANDROID_ID.
    dev.device_id = new_anonymous_id(rng).upper() if ios else f"{rng.getrandbits(64):016x}"
    dev.app_lag = rng.choice((0, 0, 1, 3, 7, 14, 30))
    if rng.random() < 0.2:
        dev.skew = rng.choice((-1, 1)) * rng.uniform(60, 900)
    return dev


def _person_devices(rng: random.Random, p: Person) -> None:
    ios = rng.random() < 0.45
    count = rng.choices((1, 2, 3), weights=(0.35, 0.45, 0.2))[0]
    forms = [rng.choices(("phone", "desktop", "mobile"), weights=(0.55, 0.3, 0.15))[0]]
    others = ["desktop", "mobile", "tablet", "phone"]
    while len(forms) < count:
        form = rng.choices(others, weights=(0.4, 0.25, 0.2, 0.3))[0]
        if form not in forms:
            forms.append(form)
    for i, form in enumerate(forms):
        dev = _device(rng, f"{p.uid}-d{i + 1}", form, p.uid, ios)
        dev.logs_in = rng.random() < (0.92 if i == 0 else 0.65)
        p.devices.append(dev)


def _tv(rng: random.Random, key: str, owners: list[str]) -> Device:
    manufacturer, model, os_name, os_version, library = rng.choice(TVS)
    anon = new_anonymous_id(rng)
    return Device(key, "tv", "tv", owners, anon, device_id=new_anonymous_id(rng),
                  manufacturer=manufacturer, model=model, os_name=os_name, os_version=os_version,
                  library=library, anonymous_ids=[anon], app_lag=rng.choice((0, 7, 30)))


def make_people(rng: random.Random, count: int, start: datetime, days: int) -> list[Person]:
    """``count`` customers u0001..., with devices, households, aliases and newsletter forms."""
    width = max(4, len(str(count)))
    city_weights = [c[7] for c in CITIES]
    emails: dict[str, int] = {}
    people: list[Person] = []
    for n in range(1, count + 1):
        segment = rng.choices(SEGMENTS, weights=(1.0, 1.0, 0.9, 1.0, 0.9, 1.1))[0]
        city = rng.choices(CITIES, weights=city_weights)[0]
        if rng.random() < 0.06:  # Chinese-speaking customers living in Europe
            city = (*city[:4], "zh-CN", "zh", city[6], city[7])
        lang = "zh" if city[4] == "zh-CN" else city[5]
        female_names, male_names, family = NAMES[lang]
        roll = rng.random()
        gender = "female" if roll < _FEMALE_SHARE[segment] else "male"
        first = rng.choice(female_names if gender == "female" else male_names)
        if rng.random() < 0.02:
            gender = "non-binary"
        last = rng.choice(family)
        local = f"{_ascii(first)}.{_ascii(last)}"
        emails[local] = emails.get(local, 0) + 1
        if emails[local] > 1:
            local += str(emails[local])
        mean_age, sd_age = _AGE[segment]
        tier, _, base_rate = rng.choices(_ACTIVITY, weights=[a[1] for a in _ACTIVITY])[0]
        in_window = rng.random() < 0.2
        if in_window:
            signup_at = start + timedelta(days=rng.uniform(0, 0.8 * days))
            first_seen = max(start, signup_at - timedelta(days=rng.uniform(0, 10)))
        else:
            signup_at = start - timedelta(days=rng.uniform(1, 900))
            first_seen = start
        churn = None
        if rng.random() < 0.15:
            churn = start + timedelta(days=rng.uniform(0.25, 0.85) * days)
            churn = max(churn, max(first_seen, signup_at) + timedelta(days=3))
            if churn >= start + timedelta(days=days):
                churn = None
        sens = 0.9 if segment == "bargain-hunter" else 0.35
        p = Person(
            uid=f"u{n:0{width}d}", first=first, last=last, email=f"{local}@example.com",
            gender=None if rng.random() < 0.08 else gender,
            age=None if rng.random() < 0.1 else min(80, max(18, round(rng.gauss(mean_age,
                                                                                 sd_age)))),
            city=city, income=rng.choices(_INCOME, weights=_INCOME_WEIGHTS[segment])[0],
            segment=segment,
            secondary=rng.choice([t for t in _TOPS if t != _main_top(segment)]),
            price_sensitivity=round(min(1.0, max(0.05, rng.gauss(sens, 0.12))), 3),
            activity=tier, rate=base_rate * rng.lognormvariate(0, 0.35),
            signup_at=signup_at.replace(microsecond=0), first_seen=first_seen, churn_at=churn,
            home_ip=random_ip(rng), email_opt_in=rng.random() < 0.7,
        )
        _person_devices(rng, p)
        people.append(p)
    _households(rng, people)
    _newsletters(rng, people)
    _aliases(rng, people, start, days)
    return people


def _main_top(segment: str) -> str:
    return {"tech-enthusiast": "Electronics", "home-cook": "Home & Kitchen",
            "outdoor": "Sports & Outdoors", "fashion": "Fashion",
            "bookworm": "Books"}.get(segment, "")


def _households(rng: random.Random, people: list[Person]) -> None:
    # About 4% of people live in pairs that share a smart TV (and a home IP).
    if len(people) < 4:
        return
    free = list(people)
    for h in range(max(1, round(len(people) * 0.02))):
        a = free.pop(rng.randrange(len(free)))
        mates = [q for q in free if q.city[0] == a.city[0]] or free
        b = rng.choice(mates)
        free.remove(b)
        hid = f"h{h + 1:03d}"
        a.household = b.household = hid
        b.home_ip = a.home_ip
        tv = _tv(rng, f"{hid}-tv", [a.uid, b.uid])
        a.devices.append(tv)
        b.devices.append(tv)


def _newsletters(rng: random.Random, people: list[Person]) -> None:
    # About 10% leave their e-mail on a newsletter form in a browser that never logs in,
    # and log in elsewhere: only the e-mail ties that browser to them.
    for p in people:
        if p.household or rng.random() >= 0.1:
            continue
        webs = [d for d in p.devices[1:] if d.platform == "web"]
        if webs:
            dev = webs[0]
        else:
            dev = _device(rng, f"{p.uid}-d{len(p.devices) + 1}", rng.choice(("desktop",
                                                                               "mobile")),
                          p.uid, False)
            p.devices.append(dev)
        dev.logs_in = False
        p.devices[0].logs_in = True
        p.newsletter = dev


def _aliases(rng: random.Random, people: list[Person], start: datetime, days: int) -> None:
    # About 2% had an older user id (a legacy shop system) and are aliased to the new one.
    if len(people) < 10:
        return
    for p in rng.sample(people, k=max(1, len(people) // 50)):
        p.old_id = f"cust-{rng.randint(100000, 999999)}"
        p.alias_at = start + timedelta(days=rng.uniform(0.15, 0.6) * days)
        p.signup_at = min(p.signup_at, start - timedelta(days=30))
        p.first_seen = start
        p.churn_at = None
        p.devices[0].logs_in = True
