"""The vocabulary every stage shares: Segment events, the names that carry meaning, platforms."""

from tailored.events.model import Context, Device, Event, EventType, OperatingSystem
from tailored.events.names import EVENT_MEANINGS, EventName, Signal, signal_of
from tailored.events.orders import ORDER_EVENTS, ORDER_VALUE_FIELDS, order_value
from tailored.events.platform import PLATFORMS, derive_platform
from tailored.events.validation import ValidEvent, normalise_email, validate_event

__all__ = [
    "EVENT_MEANINGS",
    "ORDER_EVENTS",
    "ORDER_VALUE_FIELDS",
    "PLATFORMS",
    "Context",
    "Device",
    "Event",
    "EventName",
    "EventType",
    "OperatingSystem",
    "Signal",
    "ValidEvent",
    "derive_platform",
    "normalise_email",
    "order_value",
    "signal_of",
    "validate_event",
]
