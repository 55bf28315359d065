"""What happens after a message leaves: opens and clicks through signed links (machines
flagged, no open redirect), the in-app inbox behind its own keys, signed webhooks shaped
like FCM, consent through the API, and triggered campaigns sent by the worker."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tailored.api.app import create_app
from tailored.campaigns.consent import consent_of
from tailored.campaigns.definitions import create_campaign
from tailored.campaigns.report import campaign_report
from tailored.campaigns.template_store import save_template
from tailored.campaigns.templates import MessageTemplate
from tailored.cli.app import app
from tailored.ingest import Ingestor
from tailored.realtime.webhooks.signing import SIGNATURE_HEADER, verify
from tailored.segments.definitions import define_segment
from tailored.store import Store
from tailored.store.tables import events, outbox
from tests.campaigns.smtp_server import SmtpServer
from tests.campaigns.test_sending import _campaign, _people, _send, _settings

runner = CliRunner()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def _links(mail: Any) -> tuple[str, list[str]]:
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    pixel = re.search(r'<img src="([^"]+/v1/t/o/[^"]+)"', body)
    clicks = re.findall(r'href="([^"]+/v1/t/c/[^"]+)"', body)
    assert pixel is not None
    return pixel.group(1).replace("&amp;", "&"), [c.replace("&amp;", "&") for c in clicks]


def _events(store: Store, name: str) -> list[dict[str, Any]]:
    with store.reading() as conn:
        return [dict(r.properties) for r in conn.execute(
            sa.select(events.c.properties).where(events.c.event == name))]


def test_opens_and_clicks_are_recorded_machines_flagged_no_open_redirect(
        sqlite_store: Store, smtp: SmtpServer) -> None:
    store = sqlite_store
    _people(store, 2)
    settings = _settings(store, smtp)
    _campaign(store)
    assert _send(store, settings)["sent"] == 2
    pixel, clicks = _links(smtp.received[0][1])
    real_link, honeypot = clicks[0], clicks[-1]
    browser = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/130.0"}
    with TestClient(create_app(settings, store=store)) as c:
        path = lambda url: url.removeprefix("https://t.example")  # noqa: E731
        # An image proxy fetches the pixel: recorded, flagged, not an open.
        proxy = c.get(path(pixel), headers={"User-Agent": "GoogleImageProxy"})
        assert proxy.status_code == 200 and proxy.headers["content-type"] == "image/gif"
        assert campaign_report(store, "hello")["variants"][0]["opened"] == 0
        assert c.get(path(pixel), headers=browser).status_code == 200
        # A click right after delivery is a link scanner's; later, a person's.
        first = c.get(path(real_link), headers=browser, follow_redirects=False)
        assert first.status_code == 302
        assert first.headers["location"] == "https://shop.example/x?a=1&b=2"
        assert campaign_report(store, "hello")["variants"][0]["clicked"] == 0
        with store.transaction() as conn:
            conn.execute(outbox.update().values(sent_at=datetime.now(UTC)
                                                - timedelta(minutes=5)))
        assert c.get(path(real_link), headers=browser,
                     follow_redirects=False).status_code == 302
        # The hidden honeypot: only machines follow it.
        assert c.get(path(honeypot), headers=browser,
                     follow_redirects=False).status_code == 302
        # No way to point a token elsewhere: the URL is the one signed in it.
        assert c.get(path(real_link) + "?url=https://evil.example",
                     follow_redirects=False).headers["location"].startswith(
                         "https://shop.example/")
        # Altered tokens, or an open token as a click: 400, nothing recorded.
        before = len(_events(store, "Email Link Clicked"))
        token = real_link.rsplit("/", 1)[1]
        for bad in (token[:-2] + ("aa" if not token.endswith("aa") else "bb"),
                    "not-a-token", pixel.rsplit("/", 1)[1]):
            assert c.get(f"/v1/t/c/{bad}", follow_redirects=False).status_code == 400
        assert len(_events(store, "Email Link Clicked")) == before
    report = campaign_report(store, "hello")["variants"][0]
    assert report["opened"] == 1 and report["clicked"] == 1
    opened = _events(store, "Email Opened")
    assert sorted(e["machine"] for e in opened) == [False, True]
    clicked = _events(store, "Email Link Clicked")
    assert sorted((e["machine"], e["machine_reason"] or "") for e in clicked) == [
        (False, ""), (False, ""), (True, "clicked within 10 s of delivery"),
        (True, "honeypot link")]
    assert all(e["campaign"] == "hello" and e["variant"] == "main" for e in clicked)


def test_the_inbox_opens_with_a_read_key_or_the_persons_token_never_the_write_key(
        sqlite_store: Store) -> None:
    store = sqlite_store
    _people(store, 2)
    settings = _settings(store, None)
    save_template(store, MessageTemplate("card", subject="For you, {{ traits.first_name }}",
                                         html="<p>New in</p>"))
    create_campaign(store, {"name": "in", "channel": "inapp", "rule": {
        "trait": "first_name", "exists": True}, "variants": [{"name": "main",
                                                              "template": "card"}]})
    assert _send(store, settings, "in")["sent"] == 2
    read_key, write_key = store.create_key("read"), store.create_key("ingest")
    with TestClient(create_app(settings, store=store)) as c:
        assert c.get("/v1/inbox/c0").status_code == 401
        assert c.get("/v1/inbox/c0", auth=(write_key, "")).status_code == 403
        got = c.get("/v1/inbox/c0", headers={"Authorization": f"Bearer {read_key}"})
        assert got.status_code == 200, got.text
        box = got.json()
        assert box["unread"] == 1 and box["messages"][0]["title"] == "For you, Name0"
        # The customer's backend issues a token for one person; their app reads with it.
        token = c.post("/v1/inbox/tokens", json={"person": "c0"},
                       headers={"Authorization": f"Bearer {read_key}"}).json()["token"]
        assert c.post("/v1/inbox/tokens", json={"person": "c0"},
                      auth=(write_key, "")).status_code == 403
        mine = c.get("/v1/inbox/c0", headers={"X-Inbox-Token": token})
        assert mine.status_code == 200
        assert c.get("/v1/inbox/c1", headers={"X-Inbox-Token": token}).status_code == 403
        assert c.get("/v1/inbox/c0", headers={"X-Inbox-Token": token + "x"}
                     ).status_code == 400
        msg = mine.json()["messages"][0]["id"]
        assert c.post(f"/v1/inbox/c0/messages/{msg}/read",
                      headers={"X-Inbox-Token": token}).json() == {"id": msg, "read": True}
        assert c.post(f"/v1/inbox/c1/messages/{msg}/read",
                      headers={"Authorization": f"Bearer {read_key}"}).status_code == 404
        assert c.get("/v1/inbox/c0", headers={"X-Inbox-Token": token}
                     ).json()["unread"] == 0


class _Receiver(BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_webhook_messages_are_signed_and_shaped_like_fcm(sqlite_store: Store) -> None:
    store = sqlite_store
    _people(store, 2)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.got = []
    try:
        settings = _settings(store, None)
        save_template(store, MessageTemplate(
            "sms", subject="Hi {{ traits.first_name }}",
            html='<a href="https://shop.example/sale">Sale</a>', text="Sale today"))
        created = create_campaign(store, {
            "name": "w", "channel": "webhook", "consent_channel": "sms",
            "webhook_url": f"http://127.0.0.1:{server.server_port}/hook",
            "rule": {"trait": "first_name", "exists": True},
            "variants": [{"name": "main", "template": "sms"}]})
        secret = created["webhook_secret"]
        # No sms consent recorded and opt-in: nobody; with opt-out, both.
        assert _send(store, _settings(store, None, consent_default="opt-in"), "w"
                     )["skipped"]["no_consent"] == 2
        out = _send(store, settings, "w")
        assert out["sent"] == 2 and len(_Receiver.got) == 2
        headers, body = _Receiver.got[0]
        assert verify(secret, body, headers[SIGNATURE_HEADER])
        doc = json.loads(body)
        assert doc["message"]["notification"] == {"title": "Hi Name0", "body": "Sale today"} \
            or doc["message"]["notification"]["title"].startswith("Hi Name")
        assert doc["message"]["data"]["campaign"] == "w"
        assert all(isinstance(v, str) for v in doc["message"]["data"].values())
        assert doc["message"]["data"]["url"].startswith("https://t.example/v1/t/c/")
        assert doc["to"]["user_id"] in ("c0", "c1")
        assert headers["X-Tailored-Delivery"].startswith("<")
    finally:
        server.shutdown()


def test_consent_through_the_api_with_the_write_key(sqlite_store: Store) -> None:
    store = sqlite_store
    settings = _settings(store, None)
    key = store.create_key("ingest")
    with TestClient(create_app(settings, store=store)) as c:
        ok = c.post("/v1/consent", auth=(key, ""), json={
            "anonymousId": "visitor-1", "categoryPreferences": {"email": True, "ads": False}})
        assert ok.status_code == 201, ok.text
        assert consent_of(store, "visitor-1", "email")["granted"] is True
        assert consent_of(store, "visitor-1", "ads")["granted"] is False
        bad = c.post("/v1/consent", auth=(key, ""), json={
            "anonymousId": "v", "categoryPreferences": {"fax": True}})
        assert bad.status_code in (400, 422) and "fax" in bad.text
        assert c.post("/v1/consent", auth=(key, ""), json={
            "categoryPreferences": {"email": True}}).status_code in (400, 422)
        assert c.post("/v1/consent", json={"anonymousId": "v", "categoryPreferences": {
            "email": True}}).status_code == 401


def test_cart_abandoned_is_sent_by_the_worker_unless_the_order_came(
        tmp_path: Path, smtp: SmtpServer) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    env = {"TAILORED_SMTP_URL": smtp.url, "TAILORED_MAIL_FROM": "shop@example.com",
           "TAILORED_CONSENT_DEFAULT": "opt-out", "TAILORED_DATABASE_URL": db}
    store = Store.open(db)
    try:
        _people(store, 3)
        _campaign(store, "cart", rule=None, segment="all-mail",
                  trigger={"event": "Product Added", "unless": "Order Completed",
                           "within_seconds": 3600})
        now = datetime.now(UTC)
        added = (now - timedelta(hours=2)).isoformat()
        ordered = (now - timedelta(hours=1, minutes=30)).isoformat()
        Ingestor(store).ingest_events([
            {"type": "track", "userId": "c0", "event": "Product Added", "messageId": "a0",
             "timestamp": added, "properties": {"product_id": "p1"}},
            {"type": "track", "userId": "c1", "event": "Product Added", "messageId": "a1",
             "timestamp": added, "properties": {"product_id": "p1"}},
            {"type": "track", "userId": "c1", "event": "Order Completed", "messageId": "o1",
             "timestamp": ordered, "properties": {"revenue": 10}},
            # Last year's history being imported triggers nothing.
            {"type": "track", "userId": "c2", "event": "Product Added", "messageId": "a2",
             "timestamp": (now - timedelta(days=300)).isoformat()}])
    finally:
        store.close()
    result = runner.invoke(app, ["worker", "--once", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert smtp.to() == ["c0@example.com"]
    store = Store.open(db)
    try:
        with store.reading() as conn:
            rows = {r.profile_id: r for r in conn.execute(sa.select(outbox))}
        assert sorted(r.status for r in rows.values()) == ["cancelled", "sent"]
        assert "Order Completed" in next(r.last_error for r in rows.values()
                                         if r.status == "cancelled")
    finally:
        store.close()
    # The worker again: nobody twice.
    runner.invoke(app, ["worker", "--once", "--json"], env=env)
    assert smtp.to() == ["c0@example.com"]


def test_back_in_stock_and_price_drop_reach_those_who_viewed_the_item(
        sqlite_store: Store, smtp: SmtpServer) -> None:
    from tailored.campaigns.sending import deliver_due
    from tailored.campaigns.triggers import handle_item_changes
    from tailored.catalog.model import Item
    from tailored.recommend.model_store import open_models

    store = sqlite_store
    _people(store, 3)
    settings = _settings(store, smtp)
    store.upsert_items([Item(item_id="mug", title="Blue mug", price=20.0, available=False),
                        Item(item_id="pot", title="Tea pot", price=30.0)])
    now = datetime.now(UTC)
    Ingestor(store).ingest_events([
        {"type": "track", "userId": "c0", "event": "Product Viewed", "messageId": "v0",
         "timestamp": (now - timedelta(days=2)).isoformat(),
         "properties": {"product_id": "mug"}},
        {"type": "track", "userId": "c1", "event": "Product Viewed", "messageId": "v1",
         "timestamp": (now - timedelta(days=2)).isoformat(),
         "properties": {"product_id": "pot"}},
        {"type": "track", "userId": "c2", "event": "Product Viewed", "messageId": "v2",
         "timestamp": (now - timedelta(days=60)).isoformat(),  # too long ago
         "properties": {"product_id": "mug"}}])
    save_template(store, MessageTemplate(
        "item", subject="{{ item.title }} is back", html="<p>{{ item.title }} at "
        "{{ item.price }}</p>"))
    save_template(store, MessageTemplate(
        "cheaper", subject="{{ item.title }} now {{ item.price }}", html="<p>Cheaper</p>"))
    define_segment(store, "everyone", {"trait": "email", "exists": True})
    for name, kind, template in (("restock", "back_in_stock", "item"),
                                 ("drop", "price_drop", "cheaper")):
        create_campaign(store, {"name": name, "channel": "email", "segment": "everyone",
                                "trigger": {"item": kind},
                                "variants": [{"name": "main", "template": template}]})
    models = open_models(store, settings.models_folder())
    assert handle_item_changes(store, settings) == 0  # nothing changed yet
    store.upsert_items([Item(item_id="mug", title="Blue mug", price=20.0, available=True),
                        Item(item_id="pot", title="Tea pot", price=25.0)])
    assert handle_item_changes(store, settings) == 2
    assert handle_item_changes(store, settings) == 0  # each change handled once
    deliver_due(store, settings, models)
    got = {rcpt: m["Subject"] for rcpt, m in smtp.received}
    assert got == {"c0@example.com": "Blue mug is back", "c1@example.com": "Tea pot now 25.0"}
    # A later drop of the same item reaches them again (each change is its own step).
    store.upsert_items([Item(item_id="pot", title="Tea pot", price=20.0)])
    assert handle_item_changes(store, settings) == 1
    deliver_due(store, settings, models)
    assert [m["Subject"] for rcpt, m in smtp.received if rcpt == "c1@example.com"] == [
        "Tea pot now 25.0", "Tea pot now 20.0"]


def test_triggers_over_redis_with_two_workers_send_each_welcome_once(
        store_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from tailored.realtime.redis_bus import RedisBus
    from tailored.realtime.worker import Worker
    from tests.realtime.test_redis_bus import RedisServer, _drain, _free_port

    if __import__("shutil").which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    for name, value in {"TAILORED_SMTP_URL": smtp.url, "TAILORED_MAIL_FROM": "shop@example.com",
                        "TAILORED_CONSENT_DEFAULT": "opt-out"}.items():
        monkeypatch.setenv(name, value)
    redis = RedisServer(_free_port())
    redis.start()
    try:
        publisher = RedisBus(redis.url, prefix="camp")
        a, b = (RedisBus(redis.url, prefix="camp", consumer=n) for n in "ab")
        a.read(timeout=0.01)
        with Store.open(store_url) as store:
            _campaign(store, "welcome", trigger={"event": "identify"})
            now = datetime.now(UTC).isoformat()
            ingestor = Ingestor(store, chunk_size=2, publisher=publisher)
            ingestor.ingest_events([
                {"type": "identify", "userId": f"w{i}", "messageId": f"w{i}", "timestamp": now,
                 "traits": {"email": f"w{i}@example.com", "first_name": f"W{i}"}}
                for i in range(6)])
            wa, wb = Worker(store), Worker(store)
            assert _drain(a, wa) + _drain(b, wb) > 0
            # Identified again (a second device): no second welcome.
            ingestor.ingest_events([{"type": "identify", "userId": "w0", "messageId": "again",
                                     "timestamp": now}])
            _drain(a, wa)
            _drain(b, wb)
            wa.run_once()
            wb.run_once()
        for bus in (publisher, a, b):
            bus.close()
    finally:
        redis.stop()
    assert sorted(smtp.to()) == [f"w{i}@example.com" for i in range(6)]
