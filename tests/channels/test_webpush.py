"""Web push against a real HTTP push service (a threaded http.server on 127.0.0.1): what
arrives is decrypted with the subscribing browser's own key and the VAPID signature checked
against our public key; expired endpoints are forgotten, failures retried or not; and the
subscription routes keep a browser's subscription under the person it names, only them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.campaigns.templates import Rendered
from tailored.channels import OutgoingMessage
from tailored.channels.vapid import application_server_key, vapid_subject
from tailored.channels.webpush import WebPushChannel, html_to_text
from tailored.config import Settings
from tailored.errors import InvalidInput
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.tables import push_subscriptions, store_secrets

SUBJECT = "mailto:ops@shop.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser keeps for one subscription: its P-256 key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}

    def read(self, body: bytes) -> Any:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))


@dataclass
class Pushed:
    path: str
    headers: dict[str, str]
    body: bytes


class PushService:
    """A push service: keeps each POST, answers 201 unless ``answers`` says otherwise for
    the path."""

    def __init__(self) -> None:
        self.received: list[Pushed] = []
        self.answers: dict[str, int] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.received.append(Pushed(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(service.answers.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def browser(self, name: str) -> Browser:
        return Browser(f"{self.origin}/push/{name}")

    def to(self, browser: Browser) -> list[Pushed]:
        return [p for p in self.received if self.origin + p.path == browser.endpoint]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service() -> Iterator[PushService]:
    s = PushService()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings(store_url: str) -> Settings:
    return Settings(database_url=store_url, vapid_subject=SUBJECT)


def ingest(store: Store, *events: dict[str, Any]) -> None:
    report = Ingestor(store).ingest_events(
        [{"messageId": f"m{i}-{time.monotonic_ns()}", **ev} for i, ev in enumerate(events)])
    assert report.accepted == len(events), report


def keep(store: Store, profile_id: str, browser: Browser) -> str:
    """Store a subscription as the route would, but for a plain-http endpoint (the test's
    push service), which the route refuses."""
    sub = browser.subscription()
    sid = hashlib.sha256(browser.endpoint.encode()).hexdigest()
    with store.transaction() as conn:
        conn.execute(push_subscriptions.insert().values(
            id=sid, profile_id=profile_id, endpoint=browser.endpoint,
            p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"], user_agent="test",
            created_at=datetime.now(UTC)))
    return sid


def rows(store: Store) -> dict[str, Any]:
    with store.reading() as conn:
        return {r.endpoint: r for r in conn.execute(sa.select(push_subscriptions))}


def message(profile_id: str, *, text: str | None = "20% off boots, today only",
            html: str = "<p>20% off <b>boots</b></p>") -> OutgoingMessage:
    return OutgoingMessage(
        outbox_id=1, campaign="boots", variant="a", profile_id=profile_id, address=profile_id,
        message_id="<m1@shop.example>", rendered=Rendered("Boots on sale", html, text),
        unsubscribe_url="https://t.shop.example/v1/unsubscribe/x",
        data={"click_url": "https://t.shop.example/v1/t/c/1"})


def vapid_claims(authorization: str) -> tuple[dict[str, Any], str]:
    """The claims of a ``vapid t=<JWT>,k=<key>`` header, once its ES256 signature is checked
    against ``k``; and ``k``."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    parts = dict(p.split("=", 1) for p in params.split(","))
    head, claims, signature = parts["t"].split(".")
    assert json.loads(unb64(head)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(parts["k"]))
    public.verify(encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:])),
                  f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    return json.loads(unb64(claims)), parts["k"]


# -- the channel ---------------------------------------------------------------------------

def test_send_reaches_every_subscription_of_a_person_encrypted_and_signed(
        store: Store, settings: Settings, service: PushService) -> None:
    laptop, phone, other = (service.browser(n) for n in ("laptop", "phone", "bob"))
    ingest(store, {"type": "page", "anonymousId": "anon-1", "name": "Home"},
           {"type": "identify", "userId": "ann"}, {"type": "identify", "userId": "bob"})
    keep(store, store.find_profile("anon-1"), laptop)  # subscribed before logging in
    keep(store, store.find_profile("ann"), phone)
    keep(store, store.find_profile("bob"), other)
    ingest(store, {"type": "identify", "userId": "ann", "anonymousId": "anon-1"})  # a merge

    with WebPushChannel(store, settings) as channel:
        outcome = channel.send(message(store.find_profile("ann")))

    assert outcome.status == "sent", outcome
    assert service.to(other) == []
    expected = {"title": "Boots on sale", "body": "20% off boots, today only",
                "url": "https://t.shop.example/v1/t/c/1", "campaign": "boots",
                "message_id": "<m1@shop.example>"}
    public = application_server_key(store, settings)
    for browser in (laptop, phone):
        [pushed] = service.to(browser)
        assert browser.read(pushed.body) == expected
        assert pushed.headers["content-encoding"] == "aes128gcm"
        assert int(pushed.headers["ttl"]) > 0
        claims, key = vapid_claims(pushed.headers["authorization"])
        assert key == public
        assert claims["aud"] == service.origin and claims["sub"] == SUBJECT
        assert claims["exp"] > time.time()
    kept = rows(store)
    assert kept[laptop.endpoint].last_used_at is not None
    assert kept[other.endpoint].last_used_at is None


def test_an_html_only_message_is_pushed_as_its_plain_text(
        store: Store, settings: Settings, service: PushService) -> None:
    browser = service.browser("one")
    ingest(store, {"type": "identify", "userId": "ann"})
    keep(store, store.find_profile("ann"), browser)
    html = ("<html><head><style>p{color:red}</style></head><body><h1>Boots</h1>"
            "<p>20% off &amp; free <b>returns</b></p><script>alert(1)</script></body></html>")
    with WebPushChannel(store, settings) as channel:
        assert channel.send(message(store.find_profile("ann"), text=None,
                                    html=html)).status == "sent"
    [pushed] = service.to(browser)
    assert browser.read(pushed.body)["body"] == "Boots\n20% off & free returns"
    assert html_to_text("a<br>b") == "a\nb"


def test_an_expired_subscription_is_deleted_and_gone_when_it_was_the_only_one(
        store: Store, settings: Settings, service: PushService) -> None:
    old, current = service.browser("old"), service.browser("current")
    service.answers["/push/old"] = 410
    ingest(store, {"type": "identify", "userId": "ann"}, {"type": "identify", "userId": "bob"})
    keep(store, store.find_profile("ann"), old)
    keep(store, store.find_profile("bob"), current)
    with WebPushChannel(store, settings) as channel:
        gone = channel.send(message(store.find_profile("ann")))
        assert gone.status == "gone" and "410" in (gone.error or "")
        assert set(rows(store)) == {current.endpoint}
        # Another person with one expired and one live subscription: still sent.
        keep(store, store.find_profile("bob"), old)
        assert channel.send(message(store.find_profile("bob"))).status == "sent"
    assert set(rows(store)) == {current.endpoint}
    assert len(service.to(old)) == 2 and len(service.to(current)) == 1


@pytest.mark.parametrize(("answer", "status"), [(500, "retry"), (503, "retry"),
                                                (429, "retry"), (400, "failed"),
                                                (404, "gone")])
def test_what_the_push_service_answers_decides_the_outcome(
        store: Store, settings: Settings, service: PushService, answer: int,
        status: str) -> None:
    browser = service.browser("one")
    service.answers["/push/one"] = answer
    ingest(store, {"type": "identify", "userId": "ann"})
    keep(store, store.find_profile("ann"), browser)
    with WebPushChannel(store, settings) as channel:
        outcome = channel.send(message(store.find_profile("ann")))
    assert outcome.status == status and str(answer) in (outcome.error or "")
    assert "/push/one" not in (outcome.error or "")  # the endpoint is a capability
    assert (browser.endpoint in rows(store)) is (status != "gone")


def test_a_push_service_that_refuses_connections_is_retried(
        store: Store, settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    ingest(store, {"type": "identify", "userId": "ann"})
    keep(store, store.find_profile("ann"), Browser(f"http://127.0.0.1:{port}/push/x"))
    with WebPushChannel(store, settings, timeout=3) as channel:
        outcome = channel.send(message(store.find_profile("ann")))
    assert outcome.status == "retry" and len(rows(store)) == 1


def test_push_is_refused_without_a_subject_and_defaults_to_mail_from(store_url: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        vapid_subject(Settings(database_url=store_url))
    assert exc.value.field == "vapid_subject"
    assert vapid_subject(Settings(database_url=store_url, mail_from="Shop <shop@example.com>")
                         ) == "mailto:shop@example.com"
    for bad in ("ops@shop.example", "http://shop.example", "mailto:nobody"):
        with pytest.raises(InvalidInput):
            vapid_subject(Settings(database_url=store_url, vapid_subject=bad))


# -- the key -------------------------------------------------------------------------------

def test_the_key_is_generated_once_and_kept(store: Store, settings: Settings) -> None:
    first = application_server_key(store, settings)
    assert application_server_key(store, settings) == first
    assert len(unb64(first)) == 65 and unb64(first)[0] == 4
    with store.reading() as conn:
        [(stored,)] = conn.execute(sa.select(store_secrets.c.value)
                                   .where(store_secrets.c.name == "vapid_private_key"))
    assert len(unb64(stored)) == 32  # the raw private scalar, as pywebpush takes it


def test_the_key_setting_wins_and_a_bad_one_is_refused_without_showing_it(
        store: Store, store_url: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    raw = b64(key.private_numbers().private_value.to_bytes(32, "big"))
    for given in (pem, raw):
        s = Settings(database_url=store_url, vapid_private_key=given)
        assert application_server_key(store, s) == b64(point)
    bad = "not-a-key-" + raw
    with pytest.raises(InvalidInput) as exc:
        application_server_key(store, Settings(database_url=store_url, vapid_private_key=bad))
    assert exc.value.field == "vapid_private_key" and raw not in str(exc.value)


# -- the routes ----------------------------------------------------------------------------

@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    ingest(store, {"type": "identify", "userId": "ann"},
           {"type": "page", "anonymousId": "anon-bob", "name": "Home"},
           {"type": "identify", "userId": "bob", "anonymousId": "anon-bob"},
           {"type": "page", "anonymousId": "ann", "name": "Home"})  # "ann", another kind
    with TestClient(create_app(settings, store=store, realtime=False)) as c:
        c.headers["Authorization"] = "Bearer " + store.create_key("ingest")
        yield c


def https_browser(name: str) -> Browser:
    return Browser(f"https://fcm.googleapis.com/fcm/send/{name}")


def test_posting_a_subscription_keeps_it_for_that_person(
        client: TestClient, store: Store) -> None:
    browser = https_browser("abc")
    r = client.post("/v1/push/subscriptions", json={
        "userId": "ann", "subscription": browser.subscription(), "userAgent": "Firefox"})
    assert r.status_code == 201, r.text
    ann = store.find_profile("ann")
    assert r.json() == {"id": hashlib.sha256(browser.endpoint.encode()).hexdigest(),
                        "profile_id": ann}
    row = rows(store)[browser.endpoint]
    assert (row.profile_id, row.user_agent) == (ann, "Firefox")
    assert row.p256dh == browser.subscription()["keys"]["p256dh"]


def test_a_subscription_attaches_to_the_posted_identity_only_and_moves_on_repost(
        client: TestClient, store: Store) -> None:
    browser = https_browser("shared")
    by_anon = client.post("/v1/push/subscriptions", json={
        "anonymousId": "anon-bob", "subscription": browser.subscription()})
    assert by_anon.status_code == 201 and by_anon.json()["profile_id"] == store.find_profile(
        "bob")
    # "ann" is also the anonymous id of a third profile: the userId named decides.
    by_ann = client.post("/v1/push/subscriptions", json={
        "userId": "ann", "subscription": browser.subscription()})
    assert by_ann.status_code == 201 and by_ann.json()["id"] == by_anon.json()["id"]
    [row] = rows(store).values()
    assert row.profile_id == store.find_profile("ann") != store.lookup("anon-bob").profile_id


@pytest.mark.parametrize(("change", "field"), [
    pytest.param(lambda s: s["keys"].pop("auth"), "subscription.keys.auth", id="no auth"),
    pytest.param(lambda s: s.pop("keys"), "subscription.keys", id="no keys"),
    pytest.param(lambda s: s.update(endpoint="http://push.example/x"),
                 "subscription.endpoint", id="http endpoint"),
    pytest.param(lambda s: s.update(endpoint="fcm.googleapis.com/x"),
                 "subscription.endpoint", id="no scheme"),
    pytest.param(lambda s: s["keys"].update(p256dh=b64(os.urandom(32))),
                 "subscription.keys.p256dh", id="short p256dh"),
    pytest.param(lambda s: s["keys"].update(auth=b64(os.urandom(8))),
                 "subscription.keys.auth", id="short auth"),
    pytest.param(lambda s: s["keys"].update(auth="not base64!"),
                 "subscription.keys.auth", id="auth not base64url"),
])
def test_a_bad_subscription_is_refused_naming_the_field_and_nothing_is_stored(
        client: TestClient, store: Store, change: Any, field: str) -> None:
    sub = https_browser("x").subscription()
    change(sub)
    r = client.post("/v1/push/subscriptions", json={"userId": "ann", "subscription": sub})
    assert r.status_code == 400 and r.json()["field"] == field, r.text
    assert rows(store) == {}


def test_an_unknown_person_or_no_person_is_refused_and_nothing_is_stored(
        client: TestClient, store: Store) -> None:
    sub = https_browser("x").subscription()
    unknown = client.post("/v1/push/subscriptions", json={"userId": "nobody",
                                                          "subscription": sub})
    assert unknown.status_code == 404 and "nobody" in unknown.json()["message"]
    anonymous_as_user = client.post("/v1/push/subscriptions", json={"userId": "anon-bob",
                                                                    "subscription": sub})
    assert anonymous_as_user.status_code == 404  # an anonymous id is not a user id
    none = client.post("/v1/push/subscriptions", json={"subscription": sub})
    assert none.status_code == 400 and none.json()["field"] == "userId"
    assert rows(store) == {}


def test_the_subscription_routes_need_the_write_key(client: TestClient, store: Store) -> None:
    body = {"userId": "ann", "subscription": https_browser("x").subscription()}
    assert client.post("/v1/push/subscriptions", json=body,
                       headers={"Authorization": ""}).status_code == 401
    read_key = {"Authorization": "Bearer " + store.create_key("read")}
    assert client.post("/v1/push/subscriptions", json=body,
                       headers=read_key).status_code == 403
    assert client.request("DELETE", "/v1/push/subscriptions", json={"endpoint": "x"},
                          headers={"Authorization": ""}).status_code == 401
    assert rows(store) == {}


def test_deleting_a_subscription_by_its_endpoint(client: TestClient, store: Store) -> None:
    browser = https_browser("bye")
    client.post("/v1/push/subscriptions", json={"userId": "ann",
                                                "subscription": browser.subscription()})
    r = client.request("DELETE", "/v1/push/subscriptions", json={"endpoint": browser.endpoint})
    assert r.status_code == 200 and r.json() == {"removed": True}
    assert rows(store) == {}
    again = client.request("DELETE", "/v1/push/subscriptions",
                           json={"endpoint": browser.endpoint})
    assert again.json() == {"removed": False}


def test_the_vapid_key_route_gives_the_public_key_the_sender_signs_with_and_no_secret(
        client: TestClient, store: Store, settings: Settings, service: PushService) -> None:
    answers = [client.get("/v1/push/vapid-key", headers={"Authorization": ""})]
    assert answers[0].status_code == 200
    public = answers[0].json()["publicKey"]
    assert set(answers[0].json()) == {"publicKey"}
    browser = https_browser("k")
    answers.append(client.post("/v1/push/subscriptions", json={
        "userId": "ann", "subscription": browser.subscription()}))
    answers.append(client.request("DELETE", "/v1/push/subscriptions",
                                  json={"endpoint": browser.endpoint}))
    answers.append(client.get("/openapi.json"))

    local = service.browser("k")
    keep(store, store.find_profile("ann"), local)
    with WebPushChannel(store, settings) as channel:
        assert channel.send(message(store.find_profile("ann"))).status == "sent"
    _, signed_with = vapid_claims(service.to(local)[0].headers["authorization"])
    assert signed_with == public

    with store.reading() as conn:
        secret = conn.scalar(sa.select(store_secrets.c.value)
                             .where(store_secrets.c.name == "vapid_private_key"))
    assert secret and all(secret not in a.text for a in answers)


def test_a_long_message_is_cut_to_fit_one_push_message(
        store: Store, settings: Settings, service: PushService) -> None:
    browser = service.browser("one")
    ingest(store, {"type": "identify", "userId": "ann"})
    keep(store, store.find_profile("ann"), browser)
    with WebPushChannel(store, settings) as channel:
        assert channel.send(message(store.find_profile("ann"),
                                    text="Ünïcode boots " * 800)).status == "sent"
    [pushed] = service.to(browser)
    assert len(pushed.body) <= 4096  # what every push service must accept (RFC 8030)
    body = browser.read(pushed.body)["body"]
    assert body.startswith("Ünïcode boots") and body.endswith("…")
