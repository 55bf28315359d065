"""Inside a session: landing, identity moments, browsing and the e-commerce funnel.

Drop-off is built into every step (product view to cart about 15%, cart to checkout about
half, checkout to order about two thirds). Carts only fill from product pages, so every
product a person orders was viewed by that person before.
"""

from __future__ import annotations

import bisect
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from tailored.demo.catalog import ItemSpec
from tailored.demo.context import SHOP_URL, app_release, campaign_query
from tailored.demo.vocab import REVIEWS_EN, REVIEWS_ZH
from tailored.ingest.sources.records import stable_message_id

if TYPE_CHECKING:
    import random
    from datetime import datetime

    from tailored.demo.people import Person
    from tailored.demo.sessions import Session, Simulator

__all__ = ["play", "refund"]

_SCREENS = {"Home": "Home", "Search": "Search Results", "Category": "Category",
            "Sale": "Sale", "Product": "Product Detail", "Cart": "Cart", "Checkout": "Checkout",
            "Order Confirmation": "Order Confirmation", "Sign In": "Sign In",
            "Sign Up": "Sign Up", "Newsletter": "Newsletter", "Write Review": "Write Review"}


def play(sim: Simulator, s: Session) -> None:
    """Play one session from landing to leaving."""
    p, dev, rng = s.person, s.device, sim.rng
    if dev.platform != "web":
        version, build = app_release(s.t, dev, sim.start, sim.days)
        sim.emit(s, "track", "Application Opened", quick=True, props={
            "from_background": rng.random() < 0.3, "version": version, "build": build})
    inbox = p.state["inbox"]
    if not s.extra.get("signup") and inbox and inbox[0][0] <= s.t and rng.random() < 0.6:
        # A friend's shared link: the session lands on the product page.
        _, item_id = inbox.pop(0)
        if dev.platform == "web":
            s.campaign = {"source": "share", "medium": "referral", "name": "product-share"}
        _product_view(sim, s, sim.item_index[item_id])
    else:
        _view(sim, s, "Home", "/", "Home")
    _identity(sim, s)
    _due_reviews(sim, s)
    if p.state["cart"] and rng.random() < 0.3:
        _cart(sim, s)
    for _ in range(1 + min(4, int(rng.expovariate(1 / 0.6)))):
        _browse(sim, s)
    if s.added and rng.random() < 0.85:
        _cart(sim, s)
    if rng.random() < 0.02:
        score = max(1, min(5, round(rng.gauss(4.1, 0.9))))
        sim.emit(s, "track", "Survey Answered", props={
            "survey": "csat", "survey_id": "csat-visit", "score": score,
            "question": "How satisfied are you with your visit today?"})
    if s.nps:
        mean = 7.3 if p.segment == "bargain-hunter" else 8.1
        sim.emit(s, "track", "Survey Answered", props={
            "survey": "nps", "survey_id": "nps-post-purchase",
            "score": max(0, min(10, round(rng.gauss(mean, 1.8)))),
            "question": "How likely are you to recommend us to a friend?"})


def _view(sim: Simulator, s: Session, name: str, path: str, title: str, query: str = "",
          props: dict[str, Any] | None = None) -> None:
    # Web: a page call, and the page becomes the context of the events that follow.
    # Apps and TVs: a screen call.
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


def _product(item: ItemSpec, **more: Any) -> dict[str, Any]:
    return {"product_id": item.item_id, "name": item.title,
            "category": " > ".join(item.data["category"]), "brand": item.data["brand"],
            "price": item.price, "currency": "EUR", **more}


def _messy_email(rng: random.Random, email: str) -> str:
    # What people type: mostly fine, sometimes capitalised or with stray whitespace.
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


def _traits(rng: random.Random, p: Person) -> dict[str, Any]:
    traits: dict[str, Any] = {"email": _messy_email(rng, p.email), "first_name": p.first,
                              "last_name": p.last}
    if rng.random() < 0.3:
        return traits  # the sign-in form only knows the basics
    city, region, country = p.city[:3]
    traits.update(age=p.age, gender=p.gender, city=city, region=region, country=country,
                  income_band=p.income, signup_date=p.signup_at.date().isoformat())
    return {k: v for k, v in traits.items() if v is not None}


def _can_login(sim: Simulator, s: Session) -> bool:
    p = s.person
    has_account = p.signup_at < sim.start or bool(p.state.get("signed_up"))
    return s.device.logs_in and has_account and s.t >= p.signup_at


def _login(sim: Simulator, s: Session, signup: bool = False) -> None:
    p, rng = s.person, sim.rng
    name = "Sign Up" if signup else "Sign In"
    _view(sim, s, name, "/account/signup" if signup else "/account/login", name)
    s.device.logged_in_as = p.uid
    sim.emit(s, "identify", traits=_traits(rng, p))
    if signup:
        p.state["signed_up"] = True
        sim.emit(s, "track", "Signed Up", quick=True,
                 props={"method": rng.choice(("email", "email", "google", "apple"))})


def _identity(sim: Simulator, s: Session) -> None:
    p, dev, rng = s.person, s.device, sim.rng
    if s.extra.get("signup") and not p.state.get("signed_up"):
        p.state["signed_up"] = True  # the account exists from here on
        _login(sim, s, signup=True)
    elif p.newsletter is dev and not p.state.get("newsletter") and rng.random() < 0.7:
        # The newsletter form: an identify with the e-mail only, on an anonymous browser.
        _view(sim, s, "Newsletter", "/newsletter", "Newsletter")
        sim.emit(s, "identify", traits={"email": _messy_email(rng, p.email)})
        p.state["newsletter"] = True
    elif _can_login(sim, s) and dev.logged_in_as != p.uid:
        if dev.platform == "tv":
            # Usually the viewer switches profile; sometimes they just use the other's.
            if dev.logged_in_as is None or not p.state.get("tv_seen") or rng.random() >= 0.15:
                _login(sim, s)
            p.state["tv_seen"] = True
        elif rng.random() < 0.35:
            _login(sim, s)
    if p.old_id and p.alias_sent is None and p.alias_at and p.alias_at <= s.t and (
            dev.logged_in_as == p.uid):
        p.alias_sent = s.t
        sim.emit(s, "alias", extra={"previousId": p.old_id})
        sim.emit(s, "identify", traits=_traits(rng, p), quick=True)


def _pref(sim: Simulator, p: Person, item: ItemSpec) -> float:
    # Taste for the category, popularity, price (the price-sensitive prefer cheap) and sales.
    median = sim.subs[item.sub].median_price
    w = p.state["sub_w"][item.sub] * item.popularity ** 0.7
    w *= (item.price / median) ** (-1.5 * p.price_sensitivity)
    return w * (1.8 if item.sale and p.price_sensitivity > 0.6 else 1.0)


def _browse(sim: Simulator, s: Session) -> None:
    p, rng = s.person, sim.rng
    viewed = p.state["viewed"]
    if viewed and rng.random() < 0.18:
        # Back to something seen before: a sign of intent.
        _product_view(sim, s, sim.item_index[rng.choice(list(viewed)[-10:])])
        return
    if s.promo and rng.random() < (0.5 if p.price_sensitivity > 0.6 else 0.15):
        pool, list_id, label = sim.sale_items, f"promo-{s.promo['name']}", "Sale"
        _view(sim, s, "Sale", "/sale", "Sale")
    else:
        si = rng.choices(range(len(sim.subs)), weights=p.state["sub_w"])[0]
        sub, pool = sim.subs[si], sim.by_sub[si]
        label = sub.label
        if rng.random() < 0.33:
            query = rng.choice(sub.queries)
            if p.lang == "zh" and rng.random() < 0.4:
                query = sub.noun_zh
            elif rng.random() < 0.12 and pool:
                query = f"{pool[0].data['brand']} {query}".lower()
            if rng.random() < 0.04 and len(query) > 4:  # a typo: two letters swapped
                i = rng.randrange(len(query) - 1)
                query = query[:i] + query[i + 1] + query[i] + query[i + 2:]
            _view(sim, s, "Search", "/search", f"Search: {query}", query=f"?q={quote_plus(query)}")
            sim.emit(s, "track", "Products Searched", props={"query": query}, quick=True)
            list_id = "search-results"
        else:
            slug = "/".join(part.lower().replace(" & ", "-").replace(" ", "-")
                            for part in sub.path)
            _view(sim, s, "Category", f"/c/{slug}", sub.path[-1])
            list_id = "category-" + slug.rsplit("/", 1)[-1]
    shown = sorted(pool, key=lambda i: -i.popularity * rng.lognormvariate(0, 0.5))[:8]
    if not shown:
        return
    sim.emit(s, "track", "Product List Viewed", quick=True, props={
        "list_id": list_id, "category": label,
        "products": [{"product_id": i.item_id, "name": i.title, "price": i.price,
                      "position": n} for n, i in enumerate(shown, start=1)]})
    if rng.random() < 0.15:
        return  # nothing caught their eye
    chosen: list[ItemSpec] = []
    for _ in range(1 + min(3, int(rng.expovariate(1 / 0.7)))):
        options = [i for i in shown if i not in chosen]
        if not options:
            break
        item = rng.choices(options, weights=[_pref(sim, p, i) for i in options])[0]
        chosen.append(item)
        sim.emit(s, "track", "Product Clicked",
                 props=_product(item, position=shown.index(item) + 1, list_id=list_id))
        _product_view(sim, s, item)


def _product_view(sim: Simulator, s: Session, item: ItemSpec) -> None:
    p, rng = s.person, sim.rng
    path = f"/p/{item.item_id}"
    _view(sim, s, "Product", path, item.title, props={"product_id": item.item_id})
    sim.emit(s, "track", "Product Viewed", quick=True, props=_product(
        item, url=SHOP_URL + path, image_url=item.data["image_url"]))
    viewed = p.state["viewed"]
    repeat = viewed.pop(item.item_id, None) is not None
    viewed[item.item_id] = s.t
    sens = p.price_sensitivity
    price_term = (item.price / sim.subs[item.sub].median_price) ** (-0.8 * sens)
    chance = 0.1 * (0.35 + p.state["sub_w"][item.sub]) * min(2.0, max(0.3, price_term))
    chance *= (1.4 if s.promo else 1.0) * (1.7 if repeat else 1.0)
    chance *= (1.5 if item.sale and sens > 0.6 else 1.0) * (0.4 if s.device.form == "tv" else 1.0)
    if item.available and rng.random() < min(0.65, chance):
        cart = p.state["cart"]
        line = next((ln for ln in cart if ln["item"] is item), None)
        quantity = 2 if item.price < 30 and rng.random() < 0.15 else 1
        if line:
            line["quantity"] += quantity
        else:
            cart.append({"item": item, "quantity": quantity, "price": item.price})
        s.added += 1
        sim.emit(s, "track", "Product Added",
                 props=_product(item, quantity=quantity, cart_id=p.state["cart_id"]))
    elif rng.random() < 0.035:
        wishlist = "wl-" + stable_message_id("wishlist", sim.seed, p.uid)[:8]
        sim.emit(s, "track", "Product Added to Wishlist",
                 props=_product(item, wishlist_id=wishlist, wishlist_name="My wishlist"))
    if p.friends and rng.random() < 0.015:
        friend = sim.index[rng.choice(p.friends)]
        via = rng.choice(("whatsapp", "email", "link", "facebook"))
        extra = {"recipient": friend.email} if via == "email" else {}
        sim.emit(s, "track", "Product Shared", props=_product(item, share_via=via, **extra))
        opened = s.t + timedelta(hours=rng.uniform(0.2, 48))
        bisect.insort(friend.state["inbox"], (opened, item.item_id))


def _lines(cart: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"product_id": ln["item"].item_id, "quantity": ln["quantity"], "price": ln["price"],
             "name": ln["item"].title, "category": " > ".join(ln["item"].data["category"])}
            for ln in cart]


def _cart(sim: Simulator, s: Session) -> None:
    p, dev, rng = s.person, s.device, sim.rng
    cart, cart_id = p.state["cart"], p.state["cart_id"]
    _view(sim, s, "Cart", "/cart", "Your cart")
    sim.emit(s, "track", "Cart Viewed", quick=True,
             props={"cart_id": cart_id, "products": _lines(cart)})
    if cart and rng.random() < (0.15 if len(cart) > 1 else 0.05):
        line = cart.pop(rng.randrange(len(cart)))
        sim.emit(s, "track", "Product Removed",
                 props=_product(line["item"], quantity=line["quantity"], cart_id=cart_id))
    if not cart or rng.random() >= (0.62 if s.promo else 0.5):
        return
    if dev.logged_in_as != p.uid:
        if _can_login(sim, s):
            _login(sim, s)
        elif dev.logged_in_as is not None:
            return  # someone else's TV profile and no account yet: not buying here
        elif rng.random() < 0.7:
            # Guest checkout: the e-mail field is the only identity.
            sim.emit(s, "identify", traits={"email": _messy_email(rng, p.email)})
    guest = dev.logged_in_as != p.uid
    order_id = sim.next_id("order")
    products = _lines(cart)
    subtotal = round(sum(ln["price"] * ln["quantity"] for ln in cart), 2)
    _view(sim, s, "Checkout", "/checkout", "Checkout")
    sim.emit(s, "track", "Checkout Started", quick=True, props={
        "order_id": order_id, "value": subtotal, "revenue": round(subtotal / 1.19, 2),
        "currency": "EUR", "products": products})
    code, discount = _coupon(sim, s, subtotal)
    if code:
        sim.emit(s, "track", "Coupon Applied", props={
            "order_id": order_id, "cart_id": cart_id, "coupon_id": code, "coupon_name": code,
            "discount": discount})
    if rng.random() >= (0.72 if code else 0.64):
        return  # abandoned at payment; the cart stays for another day
    gross = round(subtotal - discount, 2)
    tax = round(gross * 0.19 / 1.19, 2)  # prices include VAT
    shipping = 0.0 if gross >= 50 else 4.95
    props: dict[str, Any] = {
        "order_id": order_id, "affiliation": "Tailored Shop", "subtotal": subtotal,
        "total": round(gross + shipping, 2), "revenue": round(gross - tax, 2),
        "shipping": shipping, "tax": tax, "discount": discount, "currency": "EUR",
        "products": products}
    if code:
        props["coupon"] = code
    _view(sim, s, "Order Confirmation", "/checkout/confirmation", "Thank you")
    sim.emit(s, "track", "Order Completed", quick=True, props=props)
    _after_order(sim, s, order_id, props, guest)


def _coupon(sim: Simulator, s: Session, subtotal: float) -> tuple[str | None, float]:
    p, rng = s.person, sim.rng
    sens = p.price_sensitivity
    if s.promo and rng.random() < (0.85 if sens > 0.6 else 0.45):
        return s.promo["coupon"], round(subtotal * s.promo["discount_pct"] / 100, 2)
    if p.signup_at >= sim.start and p.state["orders"] == 0 and rng.random() < 0.6:
        return "WELCOME10", round(subtotal * 0.1, 2)
    if sens > 0.6 and subtotal > 25 and rng.random() < 0.2:
        return "SAVE5", 5.0
    return None, 0.0


def _after_order(sim: Simulator, s: Session, order_id: str, props: dict[str, Any],
                 guest: bool) -> None:
    p, rng = s.person, sim.rng
    items = [ln["item"] for ln in p.state["cart"]]
    p.state["orders"] += 1
    p.state["cart"] = []
    p.state["cart_id"] = sim.next_id("cart")
    s.nps = rng.random() < 0.12
    reviewer = 2.0 if p.lang == "zh" else 1.0  # so some reviews come in Chinese
    for item in items:
        if rng.random() < 0.25 * reviewer:
            due = s.t + timedelta(days=rng.uniform(3, 21))
            p.state["reviews"].append({"due": due, "item": item, "order": order_id,
                                       "refunded": False, "write": rng.random() < 0.45})
    # Poor items come back more often.
    worst = min(item.quality for item in items)
    if rng.random() < 0.02 + 0.08 * max(0.0, 3.6 - worst):
        sim.schedule(s.t + timedelta(days=rng.uniform(4, 25)), "refund", p, {
            "order_id": order_id, "total": props["total"], "products": props["products"],
            "user": not guest, "anonymous_id": s.device.anonymous_id})


def _due_reviews(sim: Simulator, s: Session) -> None:
    p, dev, rng = s.person, s.device, sim.rng
    keep = []
    for r in p.state["reviews"]:
        if r["due"] > s.t:
            keep.append(r)
            continue
        if s.t - r["due"] > timedelta(days=45):
            continue  # never got round to it
        if rng.random() >= 0.6 or dev.form == "tv":
            keep.append(r)
            continue
        if dev.logged_in_as != p.uid:
            if not _can_login(sim, s):
                keep.append(r)
                continue
            _login(sim, s)
        _review(sim, s, r)
    p.state["reviews"] = keep


def _review(sim: Simulator, s: Session, r: dict[str, Any]) -> None:
    p, rng = s.person, sim.rng
    item: ItemSpec = r["item"]
    taste = min(p.state["sub_w"][item.sub], 1.2)
    score = item.quality + 0.4 * (taste - 0.5) + rng.gauss(0, 0.7)
    rating = max(1, min(5, round(score - (1.8 if r["refunded"] else 0.0))))
    _view(sim, s, "Write Review", f"/p/{item.item_id}/review", f"Review {item.title}",
          props={"product_id": item.item_id})
    if r["write"]:
        texts = REVIEWS_ZH if p.lang == "zh" else REVIEWS_EN
        body = rng.choice(texts[rating - 1]).format(noun=item.kind)
        sim.emit(s, "track", "Product Reviewed", props={
            "product_id": item.item_id, "review_id": sim.next_id("review"),
            "review_body": body, "rating": rating})
    else:
        sim.emit(s, "track", "Product Rated", props={"product_id": item.item_id,
                                                       "rating": rating})


def refund(sim: Simulator, p: Person, t: datetime, order: dict[str, Any]) -> None:
    """The back end refunds an order, under the id the order was placed with."""
    ids = {"userId": p.external_id()} if order["user"] else {
        "anonymousId": order["anonymous_id"]}
    sim.emit_server(p, t, "track", "Order Refunded", ids, props={
        "order_id": order["order_id"], "total": order["total"], "revenue": order["total"],
        "currency": "EUR", "products": order["products"]})
    for r in p.state["reviews"]:
        if r["order"] == order["order_id"]:
            r["refunded"] = True
