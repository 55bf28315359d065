"""Validation, Segment's clock-skew correction and platform derivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tailored.errors import InvalidInput
from tailored.events import derive_platform, normalise_email, signal_of, validate_event

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def valid(**fields: Any) -> Any:
    body = {"type": "track", "event": "Product Viewed", "userId": "u", "messageId": "m"}
    body.update(fields)
    return validate_event(body, received_at=NOW)


def rejected(body: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        validate_event(body, received_at=NOW)
    return info.value


def test_client_timestamp_is_kept_as_sent() -> None:
    assert valid(timestamp="2026-05-01T10:00:00+02:00").timestamp == datetime(
        2026, 5, 1, 8, tzinfo=UTC)


def test_device_clock_skew_is_corrected_as_segment_does() -> None:
    # The device clock is 2 hours fast; it created the event 5 s before sending it.
    v = valid(originalTimestamp="2026-05-01T14:00:00Z", sentAt="2026-05-01T14:00:05Z")
    assert v.timestamp == NOW - timedelta(seconds=5)


def test_without_any_client_time_the_receive_time_is_used() -> None:
    assert valid().timestamp == NOW


def test_numeric_ids_become_text_and_missing_message_id_is_derived_stably() -> None:
    a = validate_event({"type": "track", "event": "E", "userId": 42}, received_at=NOW)
    b = validate_event({"type": "track", "event": "E", "userId": 42}, received_at=NOW)
    assert a.event.user_id == "42"
    assert a.message_id == b.message_id and a.message_id.startswith("auto-")


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "track", "event": "E", "messageId": "m"}, "userId/anonymousId"),
    ({"type": "track", "userId": "u"}, "event"),
    ({"type": "alias", "userId": "u"}, "previousId"),
    ({"type": "alias", "previousId": "p", "anonymousId": "a"}, "userId"),
    ({"type": "group", "userId": "u"}, "groupId"),
    ({"type": "shout", "userId": "u"}, "type"),
    ({"type": "track", "event": "E", "userId": "u", "timestamp": "noon"}, "timestamp"),
    ({"type": "track", "event": "E", "userId": "u", "timestamp": 1700000000}, "timestamp"),
    ({"type": "track", "event": "E", "userId": "u", "timestamp": "2026-05-03T12:00:00Z"},
     "timestamp"),
    ({"type": "track", "event": "E", "userId": "u", "properties": [1]}, "properties"),
    ({"type": "track", "event": "E", "userId": "u", "context": {"device": "x"}},
     "context.device"),
    ({"type": "track", "event": "E", "userId": "u", "sentAt": "x"}, "sentAt"),
    ({"type": "track", "event": "E", "userId": ["u"]}, "userId"),
    ("not an object", "(event)"),
])
def test_bad_events_are_rejected_naming_the_field(body: Any, field: str) -> None:
    err = rejected(body)
    assert err.field == field
    assert str(err)


def test_future_limit_is_a_day() -> None:
    assert valid(timestamp=(NOW + timedelta(hours=23)).isoformat())
    assert rejected({"type": "track", "event": "E", "userId": "u",
                     "originalTimestamp": (NOW + timedelta(days=2)).isoformat()}
                    ).field == "originalTimestamp"


@pytest.mark.parametrize(("context", "kind", "platform"), [
    ({"device": {"type": "ios"}, "os": {"name": "iOS"}}, "track", "ios"),
    ({"os": {"name": "Android"}}, "screen", "android"),
    ({"device": {"type": "tv"}, "os": {"name": "Android"}}, "track", "tv"),
    ({"os": {"name": "tvOS"}}, "track", "tv"),
    ({"os": {"name": "Tizen"}}, "track", "tv"),
    ({"library": {"name": "analytics.js"}}, "track", "web"),
    ({"library": {"name": "analytics-python"}}, "track", "server"),
    ({"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}, "track", "ios"),
    ({"userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"}, "track", "web"),
    ({}, "page", "web"),
    ({}, "track", "unknown"),
    ({"platform": "server"}, "track", "server"),
])
def test_platform_is_derived_from_context(context: dict[str, Any], kind: str,
                                          platform: str) -> None:
    assert derive_platform(context, kind) == platform


def test_emails_are_trimmed_and_lower_cased_and_junk_is_not_an_email() -> None:
    assert normalise_email("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    assert normalise_email("not-an-email") is None
    assert normalise_email(42) is None


def test_ecommerce_names_carry_meaning_and_others_are_kept() -> None:
    assert signal_of("Order Completed") == "order"
    assert signal_of("Product Rated") == "rating"
    assert signal_of("Survey Answered") == "survey"
    assert signal_of("Email Link Clicked") == "email_click"
    assert signal_of("Song Played") is None
    assert valid(event="Song Played").event.event == "Song Played"


def test_stable_message_ids_are_uuid5_of_the_parts() -> None:
    import uuid

    from tailored.ingest.sources.records import MESSAGE_ID_NAMESPACE, stable_message_id

    for parts in [("a",), ("movielens", "100k", 1, 2, 3), ("é", "", 0.5)]:
        expected = uuid.uuid5(MESSAGE_ID_NAMESPACE, "\x1f".join(map(str, parts)))
        assert stable_message_id(*parts) == str(expected)


def test_ordered_message_ids_sort_as_their_numeric_parts() -> None:
    from tailored.ingest.sources.records import ordered_message_id

    ids = [ordered_message_id("ml", "1m", "r", u, i) for u, i in [(2, 5), (10, 1), (10, 30)]]
    assert ids == sorted(ids) and len(set(ids)) == 3
