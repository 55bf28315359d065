"""The unsubscribe link: a GET shows a button and changes nothing (mail scanners fetch
links), a POST — the button or an RFC 8058 one-click POST — puts the person on the
suppression list and records one Unsubscribed event; a forged, altered or other-purpose
token gets 400 and changes nothing; an erasure removes the person's suppressions too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.campaigns.personalise import unsubscribe_url
from tailored.campaigns.signing import Signer, signing_key
from tailored.config import Settings
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.tables import events, suppressions


@pytest.fixture
def client(store: Store, store_url: str) -> Iterator[tuple[TestClient, Settings]]:
    Ingestor(store).ingest_events([{"type": "identify", "userId": "ann", "messageId": "i1",
                                    "traits": {"email": "ann@example.com"}}])
    settings = Settings(database_url=store_url, public_url="http://testserver",
                        realtime_consumers="thread")
    with TestClient(create_app(settings, store=store)) as c:
        yield c, settings


def _state(store: Store) -> tuple[list[tuple[str, str, str]], int]:
    with store.reading() as conn:
        rows = [(r.profile_id, r.channel, r.reason) for r in conn.execute(
            sa.select(suppressions))]
        n = int(conn.scalar(sa.select(sa.func.count()).select_from(events)
                            .where(events.c.event == "Unsubscribed")) or 0)
    return rows, n


def test_a_get_asks_and_a_one_click_post_unsubscribes_once(
        client: tuple[TestClient, Settings], store: Store) -> None:
    c, settings = client
    pid = store.find_profile("ann")
    url = unsubscribe_url(store, settings, pid, channel="email", campaign="weekly")
    path = url.removeprefix("http://testserver")
    page = c.get(path)
    assert page.status_code == 200 and "<form method=\"post\">" in page.text
    assert "e-mails" in page.text and page.headers["cache-control"] == "no-store"
    assert _state(store) == ([], 0)  # a scanner's GET changed nothing
    one_click = c.post(path, content=b"List-Unsubscribe=One-Click",
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200 and "unsubscribed" in one_click.text
    assert _state(store) == ([(pid, "email", "unsubscribed")], 1)
    assert c.post(path).status_code == 200  # again: still one row, still one event
    assert _state(store) == ([(pid, "email", "unsubscribed")], 1)
    doc = store.profile("ann")
    assert doc["event_count"] == 2  # the identify and the Unsubscribed event


@pytest.mark.parametrize("tamper", ["altered", "other purpose", "other key", "garbage"])
def test_a_bad_token_gets_400_and_changes_nothing(
        client: tuple[TestClient, Settings], store: Store, tamper: str) -> None:
    c, settings = client
    pid = store.find_profile("ann")
    key = signing_key(store, settings)
    payload = {"p": pid, "ch": "email", "c": None}
    token = {"altered": Signer(key, "unsubscribe").sign(payload)[:-3] + "xyz",
             "other purpose": Signer(key, "click").sign(payload),
             "other key": Signer("not the key", "unsubscribe").sign(payload),
             "garbage": "abc"}[tamper]
    for method in (c.get, c.post):
        r = method(f"/v1/unsubscribe/{token}")
        assert r.status_code == 400 and "not valid" in r.text
    assert _state(store) == ([], 0)


def test_erasing_a_person_removes_their_suppressions(
        client: tuple[TestClient, Settings], store: Store) -> None:
    c, settings = client
    pid = store.find_profile("ann")
    path = unsubscribe_url(store, settings, pid, channel="all").removeprefix(
        "http://testserver")
    assert c.post(path).status_code == 200
    store.erase_person("ann")
    assert _state(store) == ([], 0)
    r = c.post(path)  # the link of someone erased names nobody now
    assert r.status_code == 400 and "nobody" in r.text
