"""Event names that carry meaning: Segment's e-commerce v2 spec, e-mail events and ours.

Any other name is kept and usable; these are the ones later stages understand without
being told (interactions for recommenders, funnels, revenue, ratings, surveys).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EVENT_MEANINGS", "SEGMENT_ENTERED", "SEGMENT_EVENTS", "SEGMENT_EXITED", "EventName",
           "Signal", "signal_of"]

# What Tailored itself records in a person's history when a live segment changes
# (tailored.segments.live): track events with properties {"segment": NAME}. They are the
# system's doing, not the person's, so customer metrics (recency, events, active days) and
# platform conditions leave them out.
SEGMENT_ENTERED = "Segment Entered"
SEGMENT_EXITED = "Segment Exited"
SEGMENT_EVENTS = frozenset({SEGMENT_ENTERED, SEGMENT_EXITED})


class Signal(StrEnum):
    """What an event says about a person's interest in an item."""

    SEARCH = "search"
    VIEW = "view"
    CLICK = "click"
    CART = "cart"
    UNCART = "uncart"
    CHECKOUT = "checkout"
    ORDER = "order"
    REFUND = "refund"
    CANCEL = "cancel"
    WISHLIST = "wishlist"
    REVIEW = "review"
    SHARE = "share"
    COUPON = "coupon"
    RATING = "rating"
    SURVEY = "survey"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"


class EventName(StrEnum):
    PRODUCTS_SEARCHED = "Products Searched"
    PRODUCT_LIST_VIEWED = "Product List Viewed"
    PRODUCT_LIST_FILTERED = "Product List Filtered"
    PROMOTION_VIEWED = "Promotion Viewed"
    PROMOTION_CLICKED = "Promotion Clicked"
    PRODUCT_CLICKED = "Product Clicked"
    PRODUCT_VIEWED = "Product Viewed"
    PRODUCT_ADDED = "Product Added"
    PRODUCT_REMOVED = "Product Removed"
    CART_VIEWED = "Cart Viewed"
    CHECKOUT_STARTED = "Checkout Started"
    CHECKOUT_STEP_VIEWED = "Checkout Step Viewed"
    CHECKOUT_STEP_COMPLETED = "Checkout Step Completed"
    PAYMENT_INFO_ENTERED = "Payment Info Entered"
    ORDER_UPDATED = "Order Updated"
    ORDER_COMPLETED = "Order Completed"
    ORDER_REFUNDED = "Order Refunded"
    ORDER_CANCELLED = "Order Cancelled"
    COUPON_ENTERED = "Coupon Entered"
    COUPON_APPLIED = "Coupon Applied"
    COUPON_DENIED = "Coupon Denied"
    COUPON_REMOVED = "Coupon Removed"
    PRODUCT_ADDED_TO_WISHLIST = "Product Added to Wishlist"
    PRODUCT_REMOVED_FROM_WISHLIST = "Product Removed from Wishlist"
    WISHLIST_PRODUCT_ADDED_TO_CART = "Wishlist Product Added to Cart"
    PRODUCT_SHARED = "Product Shared"
    CART_SHARED = "Cart Shared"
    PRODUCT_REVIEWED = "Product Reviewed"
    EMAIL_OPENED = "Email Opened"
    EMAIL_LINK_CLICKED = "Email Link Clicked"
    # Ours: an explicit rating (properties.rating) and a survey answer
    # (properties.survey, properties.score).
    PRODUCT_RATED = "Product Rated"
    SURVEY_ANSWERED = "Survey Answered"


EVENT_MEANINGS: dict[str, Signal] = {
    EventName.PRODUCTS_SEARCHED: Signal.SEARCH,
    EventName.PRODUCT_LIST_VIEWED: Signal.VIEW,
    EventName.PRODUCT_CLICKED: Signal.CLICK,
    EventName.PROMOTION_CLICKED: Signal.CLICK,
    EventName.PRODUCT_VIEWED: Signal.VIEW,
    EventName.PRODUCT_ADDED: Signal.CART,
    EventName.WISHLIST_PRODUCT_ADDED_TO_CART: Signal.CART,
    EventName.PRODUCT_REMOVED: Signal.UNCART,
    EventName.CART_VIEWED: Signal.CART,
    EventName.CHECKOUT_STARTED: Signal.CHECKOUT,
    EventName.ORDER_COMPLETED: Signal.ORDER,
    EventName.ORDER_REFUNDED: Signal.REFUND,
    EventName.ORDER_CANCELLED: Signal.CANCEL,
    EventName.COUPON_APPLIED: Signal.COUPON,
    EventName.PRODUCT_ADDED_TO_WISHLIST: Signal.WISHLIST,
    EventName.PRODUCT_SHARED: Signal.SHARE,
    EventName.PRODUCT_REVIEWED: Signal.REVIEW,
    EventName.EMAIL_OPENED: Signal.EMAIL_OPEN,
    EventName.EMAIL_LINK_CLICKED: Signal.EMAIL_CLICK,
    EventName.PRODUCT_RATED: Signal.RATING,
    EventName.SURVEY_ANSWERED: Signal.SURVEY,
}


def signal_of(event_name: str | None) -> Signal | None:
    """The meaning of a track event's name, or None for a name we only keep."""
    return EVENT_MEANINGS.get(event_name) if event_name else None
