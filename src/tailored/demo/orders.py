"""The purchase end of the funnel: cart, checkout, coupons, orders, refunds and reviews.

Carts only fill from product pages, so every product ordered was viewed by the same person
first. Ratings follow the item's hidden quality and the person's taste; refunded orders are
rated lower, and poor items are refunded more often.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tailored.demo.steps import can_login, login, messy_email, product, view
from tailored.demo.vocab import REVIEWS_EN, REVIEWS_ZH

if TYPE_CHECKING:
    from datetime import datetime

    from tailored.demo.catalog import ItemSpec
    from tailored.demo.people import Person
    from tailored.demo.sessions import Session, Simulator

__all__ = ["cart_and_checkout", "due_reviews", "refund"]


def _lines(cart: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"product_id": ln["item"].item_id, "quantity": ln["quantity"], "price": ln["price"],
             "name": ln["item"].title, "category": " > ".join(ln["item"].data["category"])}
            for ln in cart]


def cart_and_checkout(sim: Simulator, s: Session) -> None:
    """View the cart; maybe remove a line, check out, apply a coupon and place the order."""
    p, dev, rng = s.person, s.device, sim.rng
    cart, cart_id = p.state["cart"], p.state["cart_id"]
    view(sim, s, "Cart", "/cart", "Your cart")
    sim.emit(s, "track", "Cart Viewed", quick=True,
             props={"cart_id": cart_id, "products": _lines(cart)})
    if cart and rng.random() < (0.15 if len(cart) > 1 else 0.05):
        line = cart.pop(rng.randrange(len(cart)))
        sim.emit(s, "track", "Product Removed",
                 props=product(line["item"], quantity=line["quantity"], cart_id=cart_id))
    if not cart or rng.random() >= (0.62 if s.promo else 0.5):
        return
    if dev.logged_in_as != p.uid:
        if can_login(sim, s):
            login(sim, s)
        elif dev.logged_in_as is not None:
            return  # someone else's TV profile and no account yet: not buying here
        elif rng.random() < 0.7:
            # Guest checkout: the e-mail field is the only identity.
            sim.emit(s, "identify", traits={"email": messy_email(rng, p.email)})
    guest = dev.logged_in_as != p.uid
    order_id = sim.next_id("order")
    products = _lines(cart)
    subtotal = round(sum(ln["price"] * ln["quantity"] for ln in cart), 2)
    view(sim, s, "Checkout", "/checkout", "Checkout")
    sim.emit(s, "track", "Checkout Started", quick=True, props={
        "order_id": order_id, "value": subtotal, "revenue": round(subtotal / 1.19, 2),
        "currency": "EUR", "products": _lines(cart)})
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
    view(sim, s, "Order Confirmation", "/checkout/confirmation", "Thank you")
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
    items_cart = p.state["cart"]
    items = [ln["item"] for ln in items_cart]
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
            "order_id": order_id, "total": props["total"], "products": _lines(items_cart),
            "user": not guest, "anonymous_id": s.device.anonymous_id})


def due_reviews(sim: Simulator, s: Session) -> None:
    """Rate or review products bought a while ago, if signed in (or able to sign in)."""
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
            if not can_login(sim, s):
                keep.append(r)
                continue
            login(sim, s)
        _review(sim, s, r)
    p.state["reviews"] = keep


def _review(sim: Simulator, s: Session, r: dict[str, Any]) -> None:
    p, rng = s.person, sim.rng
    item: ItemSpec = r["item"]
    taste = min(p.state["sub_w"][item.sub], 1.2)
    score = item.quality + 0.4 * (taste - 0.5) + rng.gauss(0, 0.7)
    rating = max(1, min(5, round(score - (1.8 if r["refunded"] else 0.0))))
    view(sim, s, "Write Review", f"/p/{item.item_id}/review", f"Review {item.title}",
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
