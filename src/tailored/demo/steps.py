"""Steps every part of a session uses: page and screen views, product properties, sign-in.

Web sessions make page calls, and the page becomes the context of the events that follow;
apps and TVs make screen calls. Signing in is an identify with the person's traits, typed the
way people type them (an e-mail in odd case or with stray whitespace now and then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tailored.demo.context import SHOP_URL, campaign_query

if TYPE_CHECKING:
    import random

    from tailored.demo.catalog import ItemSpec
    from tailored.demo.people import Person
    from tailored.demo.sessions import Session, Simulator

__all__ = ["can_login", "login", "messy_email", "product", "traits", "view"]

_SCREENS = {"Home": "Home", "Search": "Search Results", "Category": "Category",
            "Sale": "Sale", "Product": "Product Detail", "Cart": "Cart", "Checkout": "Checkout",
            "Order Confirmation": "Order Confirmation", "Sign In": "Sign In",
            "Sign Up": "Sign Up", "Newsletter": "Newsletter", "Write Review": "Write Review"}


def view(sim: Simulator, s: Session, name: str, path: str, title: str, query: str = "",
         props: dict[str, Any] | None = None) -> None:
    """A page call on the web (the page then is the context of what follows), else a screen."""
    if s.device.platform != "web":
        screen = "Profile Picker" if s.device.platform == "tv" and name == "Sign In" else (
            _SCREENS[name])
        sim.emit(s, "screen", screen, props=dict(props or {}))
        return
    if s.page is not None:
        s.landing = False
    if s.landing and s.campaign:
        utm = campaign_query(s.campaign)
        query = f"{query}&{utm[1:]}" if query else utm
    referrer = s.page["url"] if s.page else s.referrer
    s.page = {"path": path, "referrer": referrer, "search": query,
              "title": f"{title} | Tailored Shop", "url": SHOP_URL + path + query}
    sim.emit(s, "page", name, props={**s.page, **(props or {})})


def product(item: ItemSpec, **more: Any) -> dict[str, Any]:
    """The e-commerce v2 product properties of ``item``, plus ``more``."""
    return {"product_id": item.item_id, "name": item.title,
            "category": " > ".join(item.data["category"]), "brand": item.data["brand"],
            "price": item.price, "currency": "EUR", **more}


def messy_email(rng: random.Random, email: str) -> str:
    """``email`` as people type it: mostly fine, sometimes capitalised or padded."""
    roll = rng.random()
    if roll < 0.8:
        return email
    local, _, domain = email.partition("@")
    if roll < 0.88:
        fancy = ".".join(part.capitalize() for part in local.split("."))
        return f" {fancy}@{domain.capitalize()} "
    if roll < 0.94:
        return email.upper()
    return f"{email.capitalize()}\t"


def traits(rng: random.Random, p: Person) -> dict[str, Any]:
    """The identify traits of ``p``; sometimes only the basics."""
    out: dict[str, Any] = {"email": messy_email(rng, p.email), "first_name": p.first,
                           "last_name": p.last}
    if rng.random() < 0.3:
        return out  # the sign-in form only knows the basics
    city, region, country = p.city[:3]
    out.update(age=p.age, gender=p.gender, city=city, region=region, country=country,
               income_band=p.income, signup_date=p.signup_at.date().isoformat())
    return {k: v for k, v in out.items() if v is not None}


def can_login(sim: Simulator, s: Session) -> bool:
    """Whether the person has an account by now and this device is one they log in on."""
    p = s.person
    has_account = p.signup_at < sim.start or bool(p.state.get("signed_up"))
    return s.device.logs_in and has_account and s.t >= p.signup_at


def login(sim: Simulator, s: Session, signup: bool = False) -> None:
    """Sign in (or up): from here on the device's events carry the person's userId."""
    p, rng = s.person, sim.rng
    name = "Sign Up" if signup else "Sign In"
    view(sim, s, name, "/account/signup" if signup else "/account/login", name)
    s.device.logged_in_as = p.uid
    sim.emit(s, "identify", traits=traits(rng, p))
    if signup:
        p.state["signed_up"] = True
        sim.emit(s, "track", "Signed Up", quick=True,
                 props={"method": rng.choice(("email", "email", "google", "apple"))})
