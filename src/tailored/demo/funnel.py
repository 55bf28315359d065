"""Inside a session: landing, identity moments, browsing and product pages.

Drop-off is built into every step: about 15% of product views add to the cart (more for a
product seen before, during a promotion, or on sale for the price-sensitive); the rest of
the funnel is in :mod:`tailored.demo.orders`.
"""

from __future__ import annotations

import bisect
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from tailored.demo.context import SHOP_URL, app_release
from tailored.demo.orders import cart_and_checkout, due_reviews
from tailored.demo.steps import can_login, login, messy_email, product, traits, view
from tailored.ingest.sources.records import stable_message_id

if TYPE_CHECKING:
    from tailored.demo.catalog import ItemSpec
    from tailored.demo.people import Person
    from tailored.demo.sessions import Session, Simulator

__all__ = ["play"]


def play(sim: Simulator, s: Session) -> None:
    """Play one session from landing to leaving."""
    p, dev, rng = s.person, s.device, sim.rng
    if dev.platform != "web":
        version, build = app_release(s.t, dev, sim.start, sim.days)
        sim.emit(s, "track", "Application Opened", quick=True, props={
            "from_background": rng.random() < 0.3, "version": version, "build": build})
    inbox = p.state["inbox"]
    if not s.plan.get("signup") and inbox and inbox[0][0] <= s.t and rng.random() < 0.6:
        # A friend's shared link: the session lands on the product page.
        _, item_id = inbox.pop(0)
        if dev.platform == "web":
            s.campaign = {"source": "share", "medium": "referral", "name": "product-share"}
        _product_view(sim, s, sim.item_index[item_id])
    else:
        view(sim, s, "Home", "/", "Home")
    _identity(sim, s)
    due_reviews(sim, s)
    if p.state["cart"] and rng.random() < 0.3:
        cart_and_checkout(sim, s)
    for _ in range(1 + min(4, int(rng.expovariate(1 / 0.6)))):
        _browse(sim, s)
    if s.added and rng.random() < 0.85:
        cart_and_checkout(sim, s)
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


def _identity(sim: Simulator, s: Session) -> None:
    p, dev, rng = s.person, s.device, sim.rng
    if s.plan.get("signup") and not p.state.get("signed_up"):
        p.state["signed_up"] = True  # the account exists from here on
        login(sim, s, signup=True)
    elif p.newsletter is dev and not p.state.get("newsletter") and rng.random() < 0.7:
        # The newsletter form: an identify with the e-mail only, on an anonymous browser.
        view(sim, s, "Newsletter", "/newsletter", "Newsletter")
        sim.emit(s, "identify", traits={"email": messy_email(rng, p.email)})
        p.state["newsletter"] = True
    elif can_login(sim, s) and dev.logged_in_as != p.uid:
        if dev.platform == "tv":
            # Usually the viewer switches profile; sometimes they just use the other's.
            if dev.logged_in_as is None or not p.state.get("tv_seen") or rng.random() >= 0.15:
                login(sim, s)
                p.state["tv_seen"] = True
        elif rng.random() < 0.35:
            login(sim, s)
    if p.old_id and p.alias_sent is None and p.alias_at and p.alias_at <= s.t and (
            dev.logged_in_as == p.uid):
        p.alias_sent = s.t
        sim.emit(s, "alias", extra={"previousId": p.old_id})
        sim.emit(s, "identify", traits=traits(rng, p), quick=True)


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
        view(sim, s, "Sale", "/sale", "Sale")
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
            view(sim, s, "Search", "/search", f"Search: {query}", query=f"?q={quote_plus(query)}")
            sim.emit(s, "track", "Products Searched", props={"query": query}, quick=True)
            list_id = "search-results"
        else:
            slug = "/".join(part.lower().replace(" & ", "-").replace(" ", "-")
                            for part in sub.path)
            view(sim, s, "Category", f"/c/{slug}", sub.path[-1])
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
                 props=product(item, position=shown.index(item) + 1, list_id=list_id))
        _product_view(sim, s, item)


def _product_view(sim: Simulator, s: Session, item: ItemSpec) -> None:
    p, rng = s.person, sim.rng
    path = f"/p/{item.item_id}"
    view(sim, s, "Product", path, item.title, props={"product_id": item.item_id})
    sim.emit(s, "track", "Product Viewed", quick=True, props=product(
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
                 props=product(item, quantity=quantity, cart_id=p.state["cart_id"]))
    elif rng.random() < 0.035:
        wishlist = "wl-" + stable_message_id("wishlist", sim.seed, p.uid)[:8]
        sim.emit(s, "track", "Product Added to Wishlist",
                 props=product(item, wishlist_id=wishlist, wishlist_name="My wishlist"))
    if p.friends and rng.random() < 0.015:
        friend = sim.index[rng.choice(p.friends)]
        via = rng.choice(("whatsapp", "email", "link", "facebook"))
        extra = {"recipient": friend.email} if via == "email" else {}
        sim.emit(s, "track", "Product Shared", props=product(item, share_via=via, **extra))
        opened = s.t + timedelta(hours=rng.uniform(0.2, 48))
        bisect.insort(friend.state["inbox"], (opened, item.item_id))
