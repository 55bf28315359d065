"""Sending campaigns through a real SMTP server (aiosmtpd): the stated order of reasons,
a holdout among the eligible, each person once however often it is sent, temporary
failures retried and nothing lost, bounces suppressed, caps, quiet hours, triggers."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tailored.campaigns.definitions import create_campaign
from tailored.campaigns.report import campaign_report
from tailored.campaigns.sending import COMMIT_EVERY, deliver_due, send_campaign
from tailored.campaigns.template_store import save_template
from tailored.campaigns.templates import MessageTemplate
from tailored.cli.app import app
from tailored.config import Settings
from tailored.errors import InvalidInput, TailoredError
from tailored.ingest import Ingestor
from tailored.recommend.model_store import open_models
from tailored.segments.definitions import define_segment
from tailored.store import Store
from tailored.store.tables import outbox, suppressions
from tests.campaigns.smtp_server import SmtpServer

runner = CliRunner()
T0 = "2026-11-01T10:00:00Z"


@pytest.fixture
def smtp() -> Any:
    with SmtpServer() as server:
        yield server


def _settings(store: Store, smtp: SmtpServer | None, **more: Any) -> Settings:
    given: dict[str, Any] = {"consent_default": "opt-out", "send_attempts_inline": 2, **more}
    return Settings(database_url=store.url, smtp_url=smtp.url if smtp else None,
                    mail_from="Shop <shop@example.com>", public_url="https://t.example",
                    **given)


def _people(store: Store, n: int, *, email: bool = True, consent: bool | None = None,
            start: int = 0, tz: str | None = None) -> None:
    rows = []
    for i in range(start, start + n):
        e: dict[str, Any] = {"type": "identify", "userId": f"c{i}", "messageId": f"i{i}",
                             "timestamp": T0, "traits": {"first_name": f"Name{i}"}}
        if email:
            e["traits"]["email"] = f"c{i}@example.com"
        context: dict[str, Any] = {}
        if consent is not None:
            context["consent"] = {"categoryPreferences": {"email": consent}}
        if tz:
            context["timezone"] = tz
        if context:
            e["context"] = context
        rows.append(e)
    Ingestor(store).ingest_events(rows)


def _campaign(store: Store, name: str = "hello", **spec: Any) -> None:
    save_template(store, MessageTemplate(
        "hi", subject="Hi {{ traits.first_name }}",
        html='<p>Hello {{ traits.first_name }} <a href="https://shop.example/x?a=1&amp;b=2">'
             "shop</a> <a href=\"{{ unsubscribe_url }}\">unsubscribe</a></p>",
        text="Hello {{ traits.first_name }}"))
    with contextlib.suppress(InvalidInput):  # defined by an earlier campaign
        define_segment(store, "all-mail", {"trait": "first_name", "exists": True})
    create_campaign(store, {"name": name, "channel": "email",
                            "variants": [{"name": "main", "template": "hi"}],
                            "segment": "all-mail", **spec})


def _send(store: Store, settings: Settings, name: str = "hello", **kw: Any) -> dict[str, Any]:
    return send_campaign(store, settings, open_models(store, settings.models_folder()),
                         name, **kw)


def _sums(result: dict[str, Any]) -> None:
    assert result["audience"] == result["sent"] + result["failed"] + sum(
        result["skipped"].values())


def test_reasons_in_order_holdout_among_eligible_and_each_person_once(
        store: Store, smtp: SmtpServer) -> None:
    _people(store, 40, consent=True)
    _people(store, 5, consent=False, start=40)
    _people(store, 5, email=False, consent=True, start=45)  # no address outranks consent
    settings = _settings(store, smtp, consent_default="opt-in")
    _campaign(store, holdout=0.25)
    first = _send(store, settings)
    _sums(first)
    sk = first["skipped"]
    assert list(sk) == ["no_address", "unsubscribed", "bounced", "no_consent",
                        "already_sent", "frequency_cap", "quiet_hours", "holdout"]
    assert first["audience"] == 50 and sk["no_address"] == 5 and sk["no_consent"] == 5
    assert first["sent"] + sk["holdout"] == 40 and 3 <= sk["holdout"] <= 18
    assert sorted(smtp.to()) == sorted(set(smtp.to())) and len(smtp.to()) == first["sent"]
    # Every message: the one-click headers (one line each: no encoded words), a Message-ID,
    # both parts, tracked links and the pixel, the unsubscribe link left as it is.
    _, mail = smtp.received[0]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<https://t.example/v1/unsubscribe/")
    assert "=?" not in mail["List-Unsubscribe"]
    assert mail["Message-ID"].endswith("@example.com>")
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    assert "https://t.example/v1/t/c/" in body and "https://t.example/v1/t/o/" in body
    assert "https://shop.example/x" not in body and "/v1/unsubscribe/" in body
    # Again: nobody twice; the holdout stays the holdout.
    again = _send(store, settings)
    _sums(again)
    assert again["sent"] == 0 and again["skipped"]["already_sent"] == first["sent"]
    assert again["skipped"]["holdout"] == sk["holdout"]
    assert len(smtp.to()) == first["sent"]
    report = campaign_report(store, "hello")
    by = {v["variant"]: v for v in report["variants"]}
    assert by["main"]["sent"] == first["sent"] and by["holdout"]["people"] == sk["holdout"]
    assert by["holdout"]["sent"] == 0
    assert report["srm_p_value"] is not None and not report["srm_alarm"]


def test_dry_run_sends_and_records_nothing(sqlite_store: Store, smtp: SmtpServer) -> None:
    _people(sqlite_store, 10)
    _campaign(sqlite_store)
    out = _send(sqlite_store, _settings(sqlite_store, smtp), dry_run=True)
    assert out["would_send"] == 10 and out["sent"] == 0 and smtp.to() == []
    with sqlite_store.reading() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0


def test_a_refused_recipient_fails_alone_and_a_bounce_is_suppressed(
        store: Store, smtp: SmtpServer) -> None:
    _people(store, 6)
    smtp.refuse["c1@example.com"] = "550 5.1.1 No such user"
    smtp.refuse["c2@example.com"] = "452 4.2.2 Mailbox full"
    settings = _settings(store, smtp)
    _campaign(store)
    out = _send(store, settings)
    _sums(out)
    assert out["sent"] == 4 and out["failed"] == 2 and out["retrying"] == 1
    assert sorted(smtp.to()) == [f"c{i}@example.com" for i in (0, 3, 4, 5)]
    errors = {e["error"][:7] for e in out["errors"]}
    assert errors == {"SMTP 55", "SMTP 45"}
    with store.reading() as conn:
        rows = {r.address: r for r in conn.execute(sa.select(outbox))}
        assert rows["c1@example.com"].status == "bounced"
        assert rows["c2@example.com"].status == "queued"
        assert rows["c2@example.com"].attempts == 2  # tried inline twice
        assert conn.scalar(sa.select(suppressions.c.reason)) == "bounced"
    # The mailbox has room again: the worker delivers it (once), nobody else again.
    del smtp.refuse["c2@example.com"]
    with store.transaction() as conn:  # the back-off has passed
        conn.execute(outbox.update().where(outbox.c.status == "queued")
                     .values(due_at=datetime.now(UTC) - timedelta(minutes=1)))
    counts = deliver_due(store, settings, open_models(store, settings.models_folder()))
    assert counts.get("sent") == 1 and smtp.to().count("c2@example.com") == 1
    assert len(smtp.to()) == 5
    # The bounced address is skipped by the next campaign, counted as bounced.
    _campaign(store, "second")
    second = _send(store, settings, "second")
    assert second["skipped"]["bounced"] == 1 and second["sent"] == 5


def test_a_server_that_is_down_loses_nothing(sqlite_store: Store) -> None:
    store = sqlite_store
    _people(store, 5)
    down = SmtpServer()  # not started: connection refused
    settings = _settings(store, down)
    _campaign(store)
    out = _send(store, settings)
    _sums(out)
    assert out["sent"] == 0 and out["failed"] == 5 and out["retrying"] == 5
    assert all("Connection refused" in e["error"] or "refused" in e["error"].lower()
               for e in out["errors"])
    with down:
        # Sending it again (or the worker) delivers them, each once, same Message-ID.
        again = _send(store, settings)
        assert again["sent"] == 5 and sorted(down.to()) == sorted(set(down.to()))
        ids = {m["Message-ID"] for _, m in down.received}
    with store.reading() as conn:
        assert ids == set(conn.scalars(sa.select(outbox.c.message_id)))


def test_a_dead_senders_lease_is_taken_over(store: Store, smtp: SmtpServer) -> None:
    from tailored.campaigns.outbox import claim

    _people(store, 4)
    settings = _settings(store, smtp)
    _campaign(store)
    # A sender claimed everything, then died before sending (kill -9).
    from tailored.campaigns.definitions import get_campaign
    from tailored.campaigns.sending import enqueue

    now = datetime.now(UTC)
    enqueue(store, settings, get_campaign(store, "hello"), sorted(
        store.find_profile(f"c{i}") for i in range(4)), now=now)
    assert len(claim(store, "dead:1", now=now, limit=10, lease_seconds=0.5)) == 4
    # A re-run at once waits for nobody it must not: the lease still holds...
    assert claim(store, "other:2", now=now, limit=10) == []
    # ...and once it has run out, the re-run takes them and sends each once.
    import time

    time.sleep(0.6)
    out = _send(store, settings)
    assert out["sent"] == 4 and len(smtp.to()) == 4


def test_frequency_cap_across_campaigns_and_transactional_exempt(
        sqlite_store: Store, smtp: SmtpServer) -> None:
    store = sqlite_store
    _people(store, 3)
    settings = _settings(store, smtp, frequency_caps="email=1/1d")
    _campaign(store, "one")
    assert _send(store, settings, "one")["sent"] == 3
    _campaign(store, "two")
    capped = _send(store, settings, "two")
    assert capped["sent"] == 0 and capped["skipped"]["frequency_cap"] == 3
    _campaign(store, "receipt", transactional=True)
    assert _send(store, settings, "receipt")["sent"] == 3


def test_quiet_hours_hold_in_the_persons_zone_then_send(sqlite_store: Store,
                                                        smtp: SmtpServer) -> None:
    store = sqlite_store
    now = datetime.now(UTC)
    # Quiet for an hour around now in Tokyo; people whose zone is unknown use UTC, which
    # is quiet at the same hours shifted by 9: pick the window so only Tokyo is quiet.
    tokyo = now.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    start = (tokyo - timedelta(minutes=30)).strftime("%H:%M")
    end = (tokyo + timedelta(minutes=30)).strftime("%H:%M")
    _people(store, 2, tz="Asia/Tokyo")
    _people(store, 2, start=2)
    settings = _settings(store, smtp, quiet_hours=f"{start}-{end}")
    _campaign(store)
    out = _send(store, settings)
    _sums(out)
    assert out["sent"] == 2 and out["skipped"]["quiet_hours"] == 2
    assert sorted(smtp.to()) == ["c2@example.com", "c3@example.com"]
    with store.reading() as conn:
        held = conn.execute(sa.select(outbox).where(outbox.c.status == "held")).all()
    assert len(held) == 2 and all(r.due_at > now + timedelta(minutes=20) for r in held)
    # Sending again neither sends them early nor forgets them.
    again = _send(store, settings)
    assert again["sent"] == 0 and again["skipped"]["quiet_hours"] == 2
    # When the window has passed, the worker sends them.
    models = open_models(store, settings.models_folder())
    with store.transaction() as conn:
        conn.execute(outbox.update().where(outbox.c.status == "held")
                     .values(due_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert deliver_due(store, settings, models).get("sent") == 2
    assert len(smtp.to()) == 4


def test_a_person_lacking_a_trait_fails_alone(sqlite_store: Store, smtp: SmtpServer) -> None:
    store = sqlite_store
    _people(store, 3)
    Ingestor(store).ingest_events([{"type": "identify", "userId": "x", "messageId": "x",
                                    "timestamp": T0, "traits": {"email": "x@example.com"}}])
    settings = _settings(store, smtp)
    save_template(store, MessageTemplate("strict", subject="Hi {{ traits.nickname }}",
                                         html="<p>x</p>"))
    define_segment(store, "everyone", {"trait": "email", "exists": True})
    Ingestor(store).ingest_events([{"type": "identify", "userId": "c0", "messageId": "n",
                                    "timestamp": T0, "traits": {"nickname": "Zero"}}])
    create_campaign(store, {"name": "s", "channel": "email", "segment": "everyone",
                            "variants": [{"name": "main", "template": "strict"}]})
    out = _send(store, settings, "s")
    _sums(out)
    assert out["sent"] == 1 and out["failed"] == 3
    assert all("nickname" in e["error"] for e in out["errors"])


def test_cli_contract_and_bad_input(tmp_path: Path, smtp: SmtpServer) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    env = {"TAILORED_SMTP_URL": smtp.url, "TAILORED_MAIL_FROM": "shop@example.com",
           "TAILORED_CONSENT_DEFAULT": "opt-out"}

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(app, ["--db", db, *args], env=env)
        assert (result.exit_code == 0) == ok, result.output
        if ok:
            return json.loads(result.stdout) if "--json" in args else result.stdout
        assert isinstance(result.exception, TailoredError), result.exception
        return str(result.exception)

    (tmp_path / "b.html").write_text("<p>Hi {{ traits.first_name }}</p>")
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(
        {"type": "identify", "userId": f"u{i}", "messageId": f"m{i}", "timestamp": T0,
         "traits": {"email": f"u{i}@example.com", "first_name": "A"}}) + "\n"
        for i in range(4)))
    run("ingest", str(tmp_path / "p.jsonl"), "--json")
    run("template", "add", "t", "--html", str(tmp_path / "b.html"), "--subject", "S", "--json")
    assert "no segment" in run("campaign", "create", "c", "--channel", "email", "--template",
                               "t", "--segment", "nope", "--json", ok=False)
    assert "one of them" in run("campaign", "create", "c", "--channel", "email",
                                "--template", "t", "--json", ok=False)
    assert "no template" in run("campaign", "create", "c", "--channel", "email",
                                "--template", "tt", "--rule", '{"trait": "email", '
                                '"exists": true}', "--json", ok=False)
    assert "duration" in run("campaign", "create", "c", "--channel", "email", "--template",
                             "t", "--rule", '{"trait": "email", "exists": true}',
                             "--trigger", "Product Added", "--unless", "Order Completed",
                             "--within", "soon", "--json", ok=False)
    assert "holdout" in run("campaign", "create", "c", "--channel", "email", "--template",
                            "t", "--rule", '{"trait": "email", "exists": true}',
                            "--holdout", "1.5", "--json", ok=False)
    created = run("campaign", "create", "c", "--channel", "email", "--template", "t",
                  "--variant", "B=t", "--rule", '{"trait": "email", "exists": true}',
                  "--holdout", "0.1", "--json")
    assert created["variants"] == ["A", "B"]
    sent = run("campaign", "send", "c", "--json")
    assert sent["audience"] == 4 and sent["sent"] + sent["skipped"]["holdout"] == 4
    assert "has sent already" in run("campaign", "create", "c", "--channel", "email",
                                     "--template", "t", "--rule",
                                     '{"trait": "email", "exists": true}', "--json", ok=False)
    report = run("campaign", "report", "c", "--json")
    assert {v["variant"] for v in report["variants"]} == {"holdout", "A", "B"}
    assert {(row["variant"], row["against"], row["metric"]) for row in report["lift"]} >= {
        ("A", "holdout", "conversion_rate"), ("B", "A", "conversion_rate")}
    # An empty audience: said clearly, exit 0.
    run("campaign", "create", "none", "--channel", "email", "--template", "t", "--rule",
        '{"trait": "email", "=": "nobody@example.com"}', "--json")
    empty = run("campaign", "send", "none", "--json")
    assert empty["audience"] == 0 and "empty" in empty["note"]
    # A trigger on an event never seen: kept, with a warning naming close matches.
    warned = run("campaign", "create", "cart", "--channel", "email", "--template", "t",
                 "--rule", '{"trait": "email", "exists": true}', "--trigger",
                 "Product Aded", "--json")
    assert "Product Added" in warned["warnings"][0]
    assert "worker" in run("campaign", "send", "cart", "--json", ok=False)


def test_kill_9_mid_send_then_a_rerun_loses_nobody(tmp_path: Path, smtp: SmtpServer) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    db = f"sqlite:///{tmp_path / 's.db'}"
    store = Store.open(db)
    try:
        _people(store, 60)
        _campaign(store)
    finally:
        store.close()
    smtp.delay = 0.03  # a slow server: the kill lands mid-send
    env = {**os.environ, "TAILORED_DATABASE_URL": db, "TAILORED_SMTP_URL": smtp.url,
           "TAILORED_MAIL_FROM": "shop@example.com", "TAILORED_CONSENT_DEFAULT": "opt-out"}
    cmd = [sys.executable, "-m", "tailored", "campaign", "send", "hello", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(smtp.to()) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    got_before = len(smtp.to())
    assert 10 <= got_before < 60
    smtp.delay = 0.0
    # The re-run right after: the dead sender's leases run out (LEASE_SECONDS); here they
    # are shortened by moving the clock of the leases back, as time would.
    store = Store.open(db)
    try:
        with store.transaction() as conn:
            conn.execute(outbox.update().where(outbox.c.lease_until.is_not(None))
                         .values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    finally:
        store.close()
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    to = smtp.to()
    assert set(to) == {f"c{i}@example.com" for i in range(60)}  # nobody lost
    twice = [a for a in set(to) if to.count(a) > 1]
    # At most the messages in flight at the kill (sent, their group not yet committed)...
    assert len(twice) <= COMMIT_EVERY
    for address in twice:  # ...and it carries the same Message-ID both times
        ids = {m["Message-ID"] for rcpt, m in smtp.received if rcpt == address}
        assert len(ids) == 1


def test_each_person_gets_their_own_coupon_redeemed_by_their_order(
        sqlite_store: Store, smtp: SmtpServer) -> None:
    import re

    store = sqlite_store
    _people(store, 3)
    settings = _settings(store, smtp)
    save_template(store, MessageTemplate("offer", subject="10% off",
                                         html="<p>Code {{ coupon(days=7) }}</p>",
                                         text="Code {{ coupon(days=7) }}"))
    define_segment(store, "everyone", {"trait": "email", "exists": True})
    create_campaign(store, {"name": "o", "channel": "email", "segment": "everyone",
                            "variants": [{"name": "main", "template": "offer"}]})
    assert _send(store, settings, "o")["sent"] == 3
    codes = {}
    for rcpt, mail in smtp.received:
        text = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
        codes[rcpt] = re.search(r"Code (\w+)", text.get_payload(decode=True).decode()).group(1)
    assert len(set(codes.values())) == 3  # one each, both parts the same code
    # The order names it (typed in lower case, with spaces): redeemed once, by that order.
    code = codes["c0@example.com"]
    from tailored.store.tables import coupons

    with store.transaction() as conn:  # c1's code has expired
        conn.execute(coupons.update().where(coupons.c.code == codes["c1@example.com"])
                     .values(expires_at=datetime.now(UTC) - timedelta(days=1)))
    report = Ingestor(store).ingest_events([
        {"type": "track", "userId": "c0", "event": "Order Completed", "messageId": "o1",
         "timestamp": datetime.now(UTC).isoformat(),
         "properties": {"revenue": 20, "coupon": f" {code.lower()} "}},
        {"type": "track", "userId": "c1", "event": "Order Completed", "messageId": "o2",
         "timestamp": datetime.now(UTC).isoformat(),
         "properties": {"revenue": 20, "coupon": codes["c1@example.com"]}}])
    assert report.accepted == 2
    assert campaign_report(store, "o")["coupons"] == {"issued": 3, "redeemed": 1}


def test_a_journey_waits_then_ends_when_the_goal_happens(sqlite_store: Store,
                                                         smtp: SmtpServer) -> None:
    store = sqlite_store
    _people(store, 2)
    settings = _settings(store, smtp)
    save_template(store, MessageTemplate("nudge", subject="Still thinking?",
                                         html="<p>Come back</p>"))
    _campaign(store, "j", steps=[{"wait_seconds": 3600, "template": "nudge",
                                  "unless": "Order Completed"}])
    assert _send(store, settings, "j")["sent"] == 2
    with store.reading() as conn:
        held = conn.execute(sa.select(outbox).where(outbox.c.step == 1)).all()
    assert len(held) == 2 and all(r.status == "held" for r in held)
    models = open_models(store, settings.models_folder())
    assert deliver_due(store, settings, models) == {}  # not before the wait is over
    Ingestor(store).ingest_events([{"type": "track", "userId": "c1", "messageId": "o",
                                    "event": "Order Completed",
                                    "timestamp": datetime.now(UTC).isoformat()}])
    with store.transaction() as conn:
        conn.execute(outbox.update().where(outbox.c.step == 1)
                     .values(due_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert deliver_due(store, settings, models) == {"sent": 1, "cancelled": 1}
    assert [m["Subject"] for rcpt, m in smtp.received if rcpt == "c0@example.com"] == [
        "Hi Name0", "Still thinking?"]
    assert [m["Subject"] for rcpt, m in smtp.received if rcpt == "c1@example.com"] == [
        "Hi Name1"]


def test_people_in_a_segment_get_its_template(sqlite_store: Store, smtp: SmtpServer) -> None:
    from tailored.segments.membership import record_membership

    store = sqlite_store
    _people(store, 2)
    settings = _settings(store, smtp)
    save_template(store, MessageTemplate("vip", subject="For our VIPs", html="<p>VIP</p>"))
    define_segment(store, "vips", {"trait": "first_name", "=": "Name1"})
    record_membership(store, "vips", [store.find_profile("c1")], at=datetime.now(UTC))
    _campaign(store, "seg", variants=[{"name": "main", "template": "hi",
                                       "by_segment": [("vips", "vip")]}])
    assert _send(store, settings, "seg")["sent"] == 2
    subjects = {rcpt: m["Subject"] for rcpt, m in smtp.received}
    assert subjects == {"c0@example.com": "Hi Name0", "c1@example.com": "For our VIPs"}


def test_best_time_holds_each_person_for_their_usual_hour(sqlite_store: Store,
                                                          smtp: SmtpServer) -> None:
    store = sqlite_store
    now = datetime.now(UTC)
    usual = {"c0": (now + timedelta(hours=5)).replace(minute=10),
             "c1": (now + timedelta(hours=8)).replace(minute=10)}
    _people(store, 2)
    Ingestor(store).ingest_events([
        {"type": "track", "userId": who, "messageId": f"v{who}{d}",
         "event": "Product Viewed", "timestamp": (at - timedelta(days=d)).isoformat()}
        for who, at in usual.items() for d in range(1, 6)])
    settings = _settings(store, smtp)
    _campaign(store, "bt", best_time=True)
    out = _send(store, settings, "bt")
    _sums(out)
    assert out["sent"] == 0 and out["skipped"]["best_time"] == 2
    with store.reading() as conn:
        due = {r.address: r.due_at for r in conn.execute(sa.select(outbox))}
    for who, at in usual.items():
        when = due[f"{who}@example.com"]
        assert when.hour == at.hour and now < when <= now + timedelta(hours=24)


def test_a_scheduled_campaign_is_sent_by_the_worker_when_due(sqlite_store: Store,
                                                             smtp: SmtpServer) -> None:
    from tailored.store.tables import campaigns

    store = sqlite_store
    _people(store, 2)
    settings = _settings(store, smtp)
    at = datetime.now(UTC) + timedelta(hours=1)
    _campaign(store, "later", schedule=at.isoformat())
    _campaign(store, "weekly", schedule="0 9 * * MON")
    models = open_models(store, settings.models_folder())
    deliver_due(store, settings, models)
    assert smtp.to() == []  # not yet
    deliver_due(store, settings, models, now=at + timedelta(seconds=1))
    assert sorted(smtp.to()) == ["c0@example.com", "c1@example.com"]
    with store.reading() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(campaigns))}
    assert rows["later"].next_run_at is None  # a one-off runs once
    assert rows["weekly"].next_run_at.weekday() == 0 and rows["weekly"].next_run_at.hour == 9
    with pytest.raises(InvalidInput, match="in the past"):
        _campaign(store, "gone", schedule="2020-01-01T00:00:00+00:00")
    with pytest.raises(InvalidInput, match="cron"):
        _campaign(store, "bad", schedule="every monday")


def test_thompson_allocation_moves_new_people_to_the_better_variant(
        sqlite_store: Store, smtp: SmtpServer) -> None:
    store = sqlite_store
    _people(store, 40)
    settings = _settings(store, smtp)
    save_template(store, MessageTemplate("b", subject="B", html="<p>B</p>"))
    define_segment(store, "first", {"trait": "first_name", "in": [
        f"Name{i}" for i in range(20)]})
    save_template(store, MessageTemplate("hi", subject="Hi", html="<p>Hi</p>"))
    create_campaign(store, {"name": "ts", "channel": "email", "segment": "first",
                            "allocation": "thompson",
                            "variants": [{"name": "A", "template": "hi"},
                                         {"name": "B", "template": "b"}]})
    assert _send(store, settings, "ts")["sent"] == 20
    # Everyone who got B bought; nobody who got A did.
    with store.reading() as conn:
        got_b = [r.profile_id for r in conn.execute(sa.select(outbox)
                                                    .where(outbox.c.variant == "B"))]
    Ingestor(store).ingest_events([
        {"type": "track", "userId": store.profile(pid)["user_id"], "messageId": f"o{pid}",
         "event": "Order Completed", "timestamp": datetime.now(UTC).isoformat(),
         "properties": {"revenue": 5}} for pid in got_b])
    define_segment(store, "first", {"trait": "first_name", "exists": True})
    assert _send(store, settings, "ts")["sent"] == 20
    with store.reading() as conn:
        later = [r.variant for r in conn.execute(sa.select(outbox).where(
            outbox.c.id > 20))]
    assert later.count("B") >= 15


def test_a_merge_neither_repeats_a_message_nor_loses_the_assignment(
        store: Store, smtp: SmtpServer) -> None:
    _people(store, 6)
    # Each person also browsed anonymously on another device: a profile of its own.
    Ingestor(store).ingest_events([
        {"type": "track", "anonymousId": f"anon-{i}", "event": "Product Viewed",
         "messageId": f"v{i}", "timestamp": T0} for i in range(6)])
    settings = _settings(store, smtp)
    _campaign(store, holdout=0.3)
    first = _send(store, settings)
    merges_before = store.stats()["merges"]
    # They log in there: the two profiles of each person merge.
    Ingestor(store).ingest_events([
        {"type": "identify", "userId": f"c{i}", "anonymousId": f"anon-{i}",
         "messageId": f"m{i}", "timestamp": T0} for i in range(6)])
    assert store.stats()["merges"] >= merges_before + 6
    again = _send(store, settings)
    assert again["sent"] == 0 and len(smtp.to()) == first["sent"]
    assert again["skipped"]["holdout"] == first["skipped"]["holdout"]
    assert again["skipped"]["already_sent"] == first["sent"]


def test_send_rate_throttles_each_channel(sqlite_store: Store, smtp: SmtpServer) -> None:
    import time

    _people(sqlite_store, 6)
    settings = _settings(sqlite_store, smtp, send_rate=20.0)
    _campaign(sqlite_store)
    started = time.monotonic()
    assert _send(sqlite_store, settings)["sent"] == 6
    assert time.monotonic() - started >= 5 / 20.0  # six messages at 20 a second
