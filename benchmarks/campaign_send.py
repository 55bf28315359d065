"""Campaign sending: ``tailored campaign send`` rendering and mailing N personalised e-mails
(4 recommended items with their reasons each) to a local SMTP sink, beside a plain smtplib
loop mailing the same people through the same sink, in the same run.

For each audience size, on a fresh store (SQLite in a temporary folder, or a scratch
PostgreSQL database ``tailored_bench_campaign_<pid>`` dropped afterwards):

setup   N people, each an ``identify`` (traits ``email``, ``first_name``) and a few ``Product
        Viewed`` / ``Order Completed`` over a catalogue of ``--items`` items (title, price,
        currency, page URL), seeded; ``tailored import jsonl --kind items``, ``tailored
        ingest``, ``tailored train --model item-knn`` (the default model:
        ``TAILORED_DEFAULT_MODEL``), ``tailored template add`` (subject ``{{
        traits.first_name }}, picked for you``; an HTML and a text part, each looping over
        ``recommendations(4)`` with title, price, URL and reason), ``tailored segment define
        all`` (everyone with an e-mail) and ``tailored campaign create bench``. Consent
        defaults to opt-out, so everyone is eligible. Not timed in the figures.
sink    one aiosmtpd server in its own process for the whole run (it must not share a GIL
        with a sender): it answers 250, counts messages, bytes and distinct recipients,
        notes the time of the first and last message, keeps the first few messages in
        memory for the content check and writes nothing to disk. Its counters are read and
        reset through its stdin/stdout between runs; its CPU seconds per run are recorded.
ours    ``tailored campaign send bench --json`` as a subprocess, the clock around the whole
        command: start-up, the audience evaluated, everyone judged and queued in the outbox,
        each message rendered (traits, recommendations with reasons, signed unsubscribe and
        tracked links), built and sent over one SMTP connection, each outbox row marked.
plain   the peer: a Python subprocess with one smtplib connection sending N messages whose
        parts were rendered beforehand (ours' first message's HTML and text, so the same
        size), each an ``EmailMessage`` built in the loop with the same headers as ours
        (From, To — the same addresses —, a subject with the person's first name, Date,
        Message-ID, List-Unsubscribe, List-Unsubscribe-Post), ``send_message``.
raw     (for information) the same, one message serialised once before the clock and sent
        with ``sendmail`` to every address (its To header swapped): the transport and the
        sink alone, the ceiling this machine allows.

msg/s = N / wall seconds of the subprocess (start-up included, for every sender); the
delivery rate beside it is the sink's (first to last message). Peak RSS is each
subprocess's own (``os.wait4``'s rusage), CPU its user + system seconds. Checks: ours
reports sent = audience = N, failed 0; the sink got N messages for N distinct addresses in
every run; the sampled messages of ours have the subject, 4 items each with a reason, a
text part and the unsubscribe headers. Targets (issue): ours >= 0.5 x plain, >= 1,000
messages/s where the machine allows (plain well above 2,000/s), and peak memory flat in the
audience size (read here as ours' peak RSS growing by at most 1 KiB a person from the
smallest size to the largest, at least 3 x apart: a ratio of peak RSS would hide growth
behind the ~260 MiB that start-up imports).

    .venv/bin/python benchmarks/campaign_send.py                      # 10k, 30k, 100k on SQLite
    .venv/bin/python benchmarks/campaign_send.py --sizes 2000,5000,10000
    .venv/bin/python benchmarks/campaign_send.py --db postgres --sizes 5000 --json
    .venv/bin/python benchmarks/campaign_send.py --sizes 5000 --profile   # + cProfile top 25
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from http_ingest import cpu_seconds, free_port  # noqa: E402
from ingest_throughput import git_revision, machine  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
TAILORED = ROOT / ".venv" / "bin" / "tailored"
HOST = "127.0.0.1"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
MAIL_FROM = "Shop <shop@example.com>"
PUBLIC_URL = "https://t.shop.example"
CAMPAIGN = "bench"
TEMPLATE = "picked"
SUBJECT = "{{ traits.first_name }}, picked for you"
K = 4
TARGET_RATIO = 0.5
TARGET_RATE = 1_000
TARGET_KIB_PER_PERSON = 1.0  # "flat": 100k more people add under ~100 MiB

HTML = """<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello {{ traits.first_name }},</p>
<p>We picked these for you this week:</p>
<ul>
{% for item in recommendations(4) %}
  <li class="item"><a href="{{ item.url }}">{{ item.title }}</a>
    {% if item.price is not none -%}
      {{ "%.2f" | format(item.price) }} {{ item.currency or "" }}
    {%- endif %}
    <br><small class="reason">{{ item.reason }}</small></li>
{% endfor %}
</ul>
<p>See you soon,<br>The Shop</p>
<p style="font-size: small"><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>
"""
TEXT = """Hello {{ traits.first_name }},

We picked these for you this week:
{% for item in recommendations(4) %}
* {{ item.title }}
{%- if item.price is not none %} ({{ "%.2f" | format(item.price) }} {{ item.currency or "" }})
{%- endif %}
  {{ item.url }}
  {{ item.reason }}
{% endfor %}
See you soon,
The Shop

Unsubscribe: {{ unsubscribe_url }}
"""

# -- the shop --------------------------------------------------------------------------------

FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dara", "Emil", "Fatima", "Gus", "Hana", "Ines",
               "José", "Kai", "Lena", "Mateo", "Noor", "Olu", "Priya", "Quinn", "Rosa",
               "Sami", "Tomás", "Uma", "Vera", "Wen", "Yusuf", "Zoë")
CATEGORIES = (("Apparel", "Shirts"), ("Apparel", "Shoes"), ("Home", "Kitchen"),
              ("Home", "Lighting"), ("Garden", "Tools"), ("Books", "Fiction"),
              ("Books", "Cooking"), ("Sport", "Running"), ("Sport", "Cycling"),
              ("Toys", "Puzzles"))
ADJECTIVES = ("Linen", "Classic", "Everyday", "Compact", "Bright", "Sturdy", "Soft",
              "Handmade", "Travel", "Studio")


def write_shop(folder: Path, people: int, n_items: int, seed: int) -> dict[str, Any]:
    """items.jsonl (the catalogue), events.jsonl (Segment events) and recipients.jsonl
    ([address, first name] per person, for the peers), seeded."""
    rnd = random.Random(seed)
    by_cat: list[list[tuple[str, str, float]]] = [[] for _ in CATEGORIES]
    with (folder / "items.jsonl").open("wb") as f:
        for j in range(n_items):
            c = j % len(CATEGORIES)
            item_id = f"sku-{j:05d}"
            title = f"{rnd.choice(ADJECTIVES)} {CATEGORIES[c][1].rstrip('s').lower()} {j}"
            price = round(rnd.uniform(4, 180), 2)
            by_cat[c].append((item_id, title, price))
            f.write(orjson.dumps({
                "item_id": item_id, "title": title, "category": " > ".join(CATEGORIES[c]),
                "price": price, "currency": "EUR",
                "url": f"https://shop.example/p/{item_id}"}) + b"\n")
    # Popularity falls off within a category, so item-knn has neighbours to go on.
    cum = [list(_cumulative([1.0 / (r + 1) ** 0.8 for r in range(len(c))])) for c in by_cat]
    end = datetime.now(UTC) - timedelta(hours=1)
    events = 0
    with (folder / "events.jsonl").open("wb") as f, \
            (folder / "recipients.jsonl").open("wb") as r:
        for i in range(people):
            address = f"person{i:07d}@example.com"
            name = rnd.choice(FIRST_NAMES)
            r.write(orjson.dumps([address, name]) + b"\n")
            t = end - timedelta(days=rnd.uniform(3, 90))
            docs = [(t, {"type": "identify",
                         "traits": {"email": address, "first_name": name}})]
            taste = rnd.sample(range(len(CATEGORIES)), 2)
            viewed: list[tuple[str, str, float]] = []
            for _ in range(rnd.randint(2, 6)):
                c = taste[0] if rnd.random() < 0.7 else (
                    taste[1] if rnd.random() < 0.8 else rnd.randrange(len(CATEGORIES)))
                item = rnd.choices(by_cat[c], cum_weights=cum[c])[0]
                viewed.append(item)
                t += timedelta(minutes=rnd.uniform(1, 600))
                docs.append((t, {"type": "track", "event": "Product Viewed", "properties": {
                    "product_id": item[0], "name": item[1], "price": item[2],
                    "currency": "EUR"}}))
            if rnd.random() < 0.35:
                bought = rnd.sample(viewed, min(len(viewed), rnd.randint(1, 2)))
                t += timedelta(minutes=rnd.uniform(1, 60))
                docs.append((t, {"type": "track", "event": "Order Completed", "properties": {
                    "order_id": f"o-{i}", "currency": "EUR",
                    "revenue": round(sum(b[2] for b in bought), 2),
                    "products": [{"product_id": b[0], "name": b[1], "price": b[2],
                                  "quantity": 1} for b in bought]}}))
            for j, (at, doc) in enumerate(docs):
                doc.update(userId=f"bench-{i:07d}", messageId=f"cs-{seed}-{i}-{j}",
                           timestamp=at.isoformat().replace("+00:00", "Z"))
                f.write(orjson.dumps(doc) + b"\n")
            events += len(docs)
    return {"people": people, "items": n_items, "events": events}


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


# -- the sink --------------------------------------------------------------------------------

SINK = r'''
import json, sys, threading, time
from aiosmtpd.controller import Controller

class Counting:
    def __init__(self, keep):
        self.keep, self.lock = keep, threading.Lock()
        self.reset()

    def reset(self):
        self.messages = self.bytes = 0
        self.recipients = set()
        self.first = self.last = None
        self.samples = []

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        data = envelope.original_content or envelope.content
        with self.lock:
            self.messages += 1
            self.bytes += len(data)
            self.recipients.update(envelope.rcpt_tos)
            if self.first is None:
                self.first = now
            self.last = now
            if len(self.samples) < self.keep:
                self.samples.append(data.decode("utf-8", "replace"))
        return "250 OK"

    def stats(self, reset):
        with self.lock:
            out = {"messages": self.messages, "bytes": self.bytes,
                   "recipients": len(self.recipients), "first": self.first,
                   "last": self.last, "samples": self.samples}
            if reset:
                self.reset()
        return out

handler = Counting(int(sys.argv[2]))
controller = Controller(handler, hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "quit":
        break
    print(json.dumps(handler.stats(reset=cmd == "take")), flush=True)
controller.stop()
'''


class Sink:
    """The aiosmtpd sink in its own process; ``take()`` returns its counters and resets
    them."""

    def __init__(self, keep: int) -> None:
        self.port = free_port()
        self.url = f"smtp://{HOST}:{self.port}"
        self.proc = subprocess.Popen([str(PYTHON), "-c", SINK, str(self.port), str(keep)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line or not json.loads(line).get("ready"):
            raise RuntimeError("the SMTP sink did not start")

    def _ask(self, cmd: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def take(self) -> dict[str, Any]:
        return self._ask("take")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self._ask_quit()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def _ask_quit(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()


# -- the peers -------------------------------------------------------------------------------

PEER = r'''
import json, smtplib, sys, time
import email.policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

mode, port, spec_file, recipients_file = sys.argv[1:5]
spec = json.load(open(spec_file))
people = [json.loads(line) for line in open(recipients_file)]
policy = email.policy.SMTP.clone(max_line_length=998)

def build(address, name):
    m = EmailMessage(policy=policy)
    m["From"] = spec["from"]
    m["To"] = address
    m["Subject"] = f"{name}, picked for you"
    m["Date"] = formatdate(localtime=False, usegmt=True)
    m["Message-ID"] = make_msgid(domain="example.com")
    m["List-Unsubscribe"] = f"<{spec['unsubscribe']}>"
    m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m["X-Tailored-Campaign"] = "bench"
    m.set_content(spec["text"])
    m.add_alternative(spec["html"], subtype="html")
    return m

sender = spec["address"]
t0 = time.perf_counter()
smtp = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
smtp.ehlo()
sent = 0
if mode == "plain":
    for address, name in people:
        smtp.send_message(build(address, name), from_addr=sender, to_addrs=[address])
        sent += 1
else:
    first = people[0][0].encode()
    payload = build(*people[0]).as_bytes(policy=policy)
    head, sep, body = payload.partition(b"\r\n\r\n")
    t0 = time.perf_counter()
    for address, _ in people:
        smtp.sendmail(sender, [address],
                      head.replace(b"To: " + first, b"To: " + address.encode()) + sep + body)
        sent += 1
smtp.quit()
print(json.dumps({"sent": sent, "loop_seconds": time.perf_counter() - t0}))
'''


# -- running and measuring a subprocess ----------------------------------------------------

GNU_TIME = Path("/usr/bin/time")


def measured(cmd: list[str], env: dict[str, str], cwd: Path, log: Path,
             timeout: float) -> dict[str, Any]:
    """Run ``cmd`` to the end: its wall seconds, its own peak RSS and CPU, its stdout;
    stderr goes to ``log``.

    Peak RSS comes from GNU time (``%M``) started in between: a child exec'd straight from
    this process would report at least this process's own RSS at the fork (Linux carries the
    old address space's high-water mark across exec), and this one has imported Tailored."""
    out_file, time_file = log.with_suffix(".out"), log.with_suffix(".time")
    gnu = GNU_TIME.exists()
    full = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(time_file), *cmd] if gnu else cmd
    with out_file.open("wb") as out, log.open("wb") as err:
        started_at = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, env=env, cwd=cwd, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited with {proc.returncode}:\n"
                           + log.read_text()[-3000:])
    if gnu:
        rss_kib, user, system = time_file.read_text().split()[-3:]
        rss, cpu, method = int(rss_kib) / 1024, float(user) + float(system), "GNU time %M"
    else:  # Linux reports KiB; see above for what this includes
        rss, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        method = "os.wait4 (includes this process's RSS at the fork)"
    return {"seconds": wall, "peak_rss_mib": rss, "cpu_seconds": cpu, "rss_method": method,
            "started_at": started_at, "stdout": out_file.read_text()}


def settings_env(db: str, smtp_url: str, folder: Path) -> dict[str, str]:
    """The environment every ``tailored`` command of a case runs with: nothing inherited
    from the caller's own TAILORED_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    env.update({
        "NO_COLOR": "1", "TAILORED_DATABASE_URL": db, "TAILORED_SMTP_URL": smtp_url,
        "TAILORED_MAIL_FROM": MAIL_FROM, "TAILORED_PUBLIC_URL": PUBLIC_URL,
        "TAILORED_CONSENT_DEFAULT": "opt-out", "TAILORED_DEFAULT_MODEL": "item-knn",
        "TAILORED_SNAPSHOT_DIR": str(folder / "snapshot")})
    return env


def cli(env: dict[str, str], cwd: Path, *args: str) -> Any:
    done = subprocess.run([str(TAILORED), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"tailored {' '.join(args)} failed:\n{done.stderr[-3000:]}"
                           f"{done.stdout[-3000:]}")
    return json.loads(done.stdout) if "--json" in args else done.stdout


@contextlib.contextmanager
def database(kind: str, folder: Path, pg_url: str) -> Iterator[str]:
    """A fresh store's URL: a SQLite file in ``folder``, or a PostgreSQL database created
    now and dropped at the end."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    import sqlalchemy as sa

    name = f"tailored_bench_campaign_{os.getpid()}"
    admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield str(sa.engine.make_url(pg_url).set(database=name)
                  .render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- one size --------------------------------------------------------------------------------

def setup_store(env: dict[str, str], folder: Path, n: int, args: Any) -> dict[str, Any]:
    steps: dict[str, float] = {}

    def step(name: str, *cmd: str) -> Any:
        t0 = time.perf_counter()
        out = cli(env, folder, *cmd)
        steps[name] = round(time.perf_counter() - t0, 2)
        return out

    t0 = time.perf_counter()
    shop = write_shop(folder, n, args.items, args.seed)
    steps["generate"] = round(time.perf_counter() - t0, 2)
    step("import_items", "import", "jsonl", str(folder / "items.jsonl"), "--kind", "items",
         "--map", "item_id=item_id", "--map", "title=title", "--map", "category=category",
         "--map", "price=price", "--map", "currency=currency", "--map", "attributes.url=url",
         "--json")
    ingest = step("ingest", "ingest", str(folder / "events.jsonl"), "--json")
    trained = step("train", "train", "--model", "item-knn", "--json")
    (folder / "picked.html").write_text(HTML)
    (folder / "picked.txt").write_text(TEXT)
    step("template", "template", "add", TEMPLATE, "--subject", SUBJECT,
         "--html", str(folder / "picked.html"), "--text", str(folder / "picked.txt"), "--json")
    step("segment", "segment", "define", "all", "--rule",
         json.dumps({"trait": "email", "exists": True}), "--json")
    step("campaign", "campaign", "create", CAMPAIGN, "--channel", "email", "--template",
         TEMPLATE, "--segment", "all", "--json")
    return {**shop, "accepted": ingest.get("accepted"), "profiles": ingest.get(
        "profiles_created"), "model": {k: trained.get(k) for k in (
            "model", "users", "items", "interactions", "train_seconds") if k in trained},
        "seconds": steps}


def check_samples(samples: list[str], addresses: set[str]) -> dict[str, Any]:
    """Ours' first messages as received: the subject, To, 4 items each with a reason, a
    text part, the unsubscribe headers."""
    problems: list[str] = []
    for raw in samples:
        msg = email.message_from_string(raw, policy=email.policy.default)
        to = str(msg["To"])
        if to not in addresses:
            problems.append(f"To {to!r} is nobody in the audience")
        if not str(msg["Subject"]).endswith(", picked for you"):
            problems.append(f"subject {msg['Subject']!r}")
        if not msg["List-Unsubscribe"] or not msg["List-Unsubscribe-Post"]:
            problems.append("no List-Unsubscribe headers")
        html = msg.get_body(("html",))
        text = msg.get_body(("plain",))
        if html is None or text is None:
            problems.append("an HTML or a text part is missing")
            continue
        body = html.get_content()
        items = body.count('<li class="item">')
        reasons = [part.split("</small>", 1)[0].strip()
                   for part in body.split('<small class="reason">')[1:]]
        if items != K or len([r for r in reasons if r]) != K:
            problems.append(f"{items} items, {len([r for r in reasons if r])} with a reason")
    return {"checked": len(samples), "ok": not problems and bool(samples),
            "problems": problems[:10]}


def peer_spec(sample: str, folder: Path) -> Path:
    """What the peers send: the HTML and text parts of ours' first message, as rendered."""
    msg = email.message_from_string(sample, policy=email.policy.default)
    html, text = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html is not None and text is not None
    spec = {"from": MAIL_FROM, "address": "shop@example.com", "html": html.get_content(),
            "text": text.get_content(),
            "unsubscribe": str(msg["List-Unsubscribe"]).strip("<>")}
    path = folder / "peer-spec.json"
    path.write_text(json.dumps(spec))
    return path


def run_sender(name: str, cmd: list[str], env: dict[str, str], folder: Path, sink: Sink,
               n: int, timeout: float) -> dict[str, Any]:
    cpu0 = sink.cpu()
    r = measured(cmd, env, folder, folder / f"{name}.log", timeout)
    got = sink.take()
    rate = n / r["seconds"]
    span = (got["last"] - got["first"]) if got["first"] is not None else None
    return {
        "seconds": round(r["seconds"], 3), "msg_per_s": round(rate),
        "delivery_seconds": round(span, 3) if span is not None else None,
        "delivery_msg_per_s": round((got["messages"] - 1) / span) if span else None,
        "first_message_after_s": round(got["first"] - r["started_at"], 3)
        if got["first"] is not None else None,
        "peak_rss_mib": round(r["peak_rss_mib"], 1),
        "cpu_seconds": round(r["cpu_seconds"], 2),
        "cpu_us_per_msg": round(r["cpu_seconds"] / n * 1e6),
        "sink": {"messages": got["messages"], "recipients": got["recipients"],
                 "bytes_per_msg": round(got["bytes"] / max(got["messages"], 1)),
                 "cpu_seconds": round(sink.cpu() - cpu0, 2)},
        "received_all": got["messages"] == n and got["recipients"] == n,
        "rss_method": r["rss_method"], "_stdout": r["stdout"], "_samples": got["samples"],
    }


def run_size(n: int, sink: Sink, args: Any) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"tailored-campaign-{n}-", dir=args.workdir))
    try:
        with database(args.db, folder, args.pg_url) as db:
            env = settings_env(db, sink.url, folder)
            setup = setup_store(env, folder, n, args)
            addresses = {json.loads(line)[0] for line in
                         (folder / "recipients.jsonl").read_text().splitlines()}
            sink.take()  # nothing left over
            load_before = os.getloadavg()
            ours = run_sender("ours", [str(TAILORED), "campaign", "send", CAMPAIGN, "--json"],
                              env, folder, sink, n, args.timeout)
            result = json.loads(ours.pop("_stdout"))
            samples = ours.pop("_samples")
            ours["result"] = {k: result.get(k) for k in (
                "audience", "sent", "failed", "cancelled", "retrying", "skipped")}
            if result.get("errors"):
                ours["result"]["errors"] = result["errors"][:3]
            ours["content"] = check_samples(samples, addresses)
            ours["sent_all"] = (result.get("sent") == n and result.get("audience") == n
                                and not result.get("failed"))
            if not samples:
                raise RuntimeError(f"ours delivered nothing to the sink: {ours}")
            (folder / "ours-first-message.eml").write_text(samples[0])
            spec = peer_spec(samples[0], folder)
            peers = {}
            for peer in args.peers:
                peers[peer] = run_sender(
                    peer, [str(PYTHON), "-c", PEER, peer, str(sink.port), str(spec),
                           str(folder / "recipients.jsonl")],
                    env, folder, sink, n, args.timeout)
                out = json.loads(peers[peer].pop("_stdout"))
                peers[peer].pop("_samples")
                peers[peer]["loop_msg_per_s"] = round(out["sent"] / out["loop_seconds"])
            load_after = os.getloadavg()
            profile = None
            if args.profile and n == min(args.sizes):
                profile = profile_send(env, folder, sink, n, args)
    finally:
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    plain = peers.get("plain")
    ratio = round(ours["msg_per_s"] / plain["msg_per_s"], 3) if plain else None
    # What this machine and sink allow at all: the transport alone (raw), else plain.
    ceiling = (peers.get("raw") or plain or {}).get("msg_per_s")
    return {
        "audience": n, "db": args.db, "setup": setup, "ours": ours, "peers": peers,
        "ratio_ours_over_plain": ratio,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "targets": {
            "ratio_min": TARGET_RATIO,
            "ratio_met": ratio is not None and ratio >= TARGET_RATIO,
            "msg_per_s_min": TARGET_RATE, "msg_per_s_met": ours["msg_per_s"] >= TARGET_RATE,
            "ceiling_msg_per_s": ceiling,
            "machine_allows": ceiling is not None and ceiling >= TARGET_RATE},
        "checks_ok": ours["sent_all"] and ours["received_all"] and ours["content"]["ok"]
        and all(p["received_all"] for p in peers.values()),
        **({"profile": profile} if profile else {}),
    }


def profile_send(env: dict[str, str], folder: Path, sink: Sink, n: int, args: Any
                 ) -> dict[str, Any]:
    """A second campaign to the same audience, sent under cProfile: the top entries inside
    src/tailored by cumulative time, written to ``args.profile``."""
    cli(env, folder, "campaign", "create", "bench-profile", "--channel", "email",
        "--template", TEMPLATE, "--segment", "all", "--json")
    prof = folder / "send.prof"
    r = measured([str(PYTHON), "-m", "cProfile", "-o", str(prof), "-m", "tailored",
                  "campaign", "send", "bench-profile", "--json"], env, folder,
                 folder / "profile.log", args.timeout)
    got = sink.take()
    stats = pstats.Stats(str(prof))
    total = stats.total_tt  # type: ignore[attr-defined]
    src = str(ROOT / "src" / "tailored")
    rows = []
    for (file, line, func), (_cc, calls, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file.startswith(src):
            rows.append({"where": f"{Path(file).relative_to(ROOT)}:{line}({func})",
                         "calls": calls, "tottime": round(tt, 3), "cumtime": round(ct, 3)})
    rows.sort(key=lambda x: -x["cumtime"])
    top = rows[:args.profile_top]
    by_tottime = sorted(rows, key=lambda x: -x["tottime"])[:args.profile_top]
    lines = [f"campaign send, {n:,} people, {args.db}, under cProfile: {r['seconds']:.1f} s "
             f"wall ({total:.1f} s profiled), {got['messages']:,} messages received",
             "", "top by cumulative time, inside src/tailored:",
             f"{'cumtime s':>10}{'tottime s':>10}{'calls':>10}  where"]
    lines += [f"{x['cumtime']:>10.2f}{x['tottime']:>10.2f}{x['calls']:>10}  {x['where']}"
              for x in top]
    lines += ["", "top by own time, inside src/tailored:",
              f"{'tottime s':>10}{'cumtime s':>10}{'calls':>10}  where"]
    lines += [f"{x['tottime']:>10.2f}{x['cumtime']:>10.2f}{x['calls']:>10}  {x['where']}"
              for x in by_tottime]
    # The whole picture too: the library calls under those.
    lines += ["", "top by cumulative time, everything:"]
    buf = _pstats_text(prof, args.profile_top)
    lines.append(buf)
    out = Path(args.profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return {"file": str(out), "seconds": round(r["seconds"], 2),
            "received": got["messages"], "top_cumulative": top}


def _pstats_text(prof: Path, top: int) -> str:
    import io

    buf = io.StringIO()
    pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue().split("\n", 6)[-1]  # without the header lines


# -- reporting -------------------------------------------------------------------------------

def memory_flatness(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    if len(results) < 2:
        return None
    lo = min(results, key=lambda r: r["audience"])
    hi = max(results, key=lambda r: r["audience"])
    growth = hi["ours"]["peak_rss_mib"] / lo["ours"]["peak_rss_mib"]
    slope = ((hi["ours"]["peak_rss_mib"] - lo["ours"]["peak_rss_mib"]) * 1024
             / (hi["audience"] - lo["audience"]))
    judged = hi["audience"] >= 3 * lo["audience"]
    return {"from": lo["audience"], "to": hi["audience"], "rss_growth": round(growth, 3),
            "kib_per_person": round(slope, 2), "max_kib_per_person": TARGET_KIB_PER_PERSON,
            "met": (slope <= TARGET_KIB_PER_PERSON) if judged else None}


def print_table(record: dict[str, Any]) -> None:
    head = (f"{'audience':>9}{'ours s':>8}{'1st msg':>8}{'ours/s':>8}{'deliv/s':>9}{'plain/s':>9}"
            f"{'ratio':>7}{'raw/s':>8}{'ours MiB':>10}{'plain MiB':>10}{'ours µs':>9}"
            f"{'plain µs':>9}{'sink s':>14}  load before → after   checks")
    print(head)
    print("-" * len(head))
    for r in record["results"]:
        o, p, w = r["ours"], r["peers"].get("plain", {}), r["peers"].get("raw", {})
        print(f"{r['audience']:>9,}{o['seconds']:>8.1f}{o['first_message_after_s'] or 0:>8.1f}"
              f"{o['msg_per_s']:>8,}"
              f"{o['delivery_msg_per_s'] or 0:>9,}{p.get('msg_per_s', 0):>9,}"
              f"{r['ratio_ours_over_plain'] or 0:>6.2f}×"
              f"{format(w['msg_per_s'], ',') if w else '-':>8}"
              f"{o['peak_rss_mib']:>10.0f}{p.get('peak_rss_mib', 0):>10.0f}"
              f"{o['cpu_us_per_msg']:>9,}{p.get('cpu_us_per_msg', 0):>9,}"
              f"{o['sink']['cpu_seconds']:>6.1f}/{p.get('sink', {}).get('cpu_seconds', 0):<7.1f}"
              f"  {' '.join(f'{x:.2f}' for x in r['load_before'])} → "
              f"{' '.join(f'{x:.2f}' for x in r['load_after'])}   "
              f"{'ok' if r['checks_ok'] else 'FAILED'}")
    print("ours/s, plain/s, raw/s: N ÷ wall seconds of the sending process (start-up "
          "included); 1st msg: seconds from ours' start to its first message at the sink; "
          "deliv/s: ours at the sink, first to last message; µs: sender CPU per "
          "message; sink s: the sink's CPU seconds during ours/plain")
    for r in record["results"]:
        t = r["targets"]
        unreachable = "" if t["machine_allows"] else (
            f" (not reachable here: the fastest peer, "
            f"{'raw' if 'raw' in r['peers'] else 'plain'}, does {t['ceiling_msg_per_s'] or 0:,}/s)")
        print(f"{r['audience']:>9,}: ratio ≥ {TARGET_RATIO} "
              f"{'met' if t['ratio_met'] else 'MISSED'}; ≥ {TARGET_RATE:,} msg/s "
              f"{'met' if t['msg_per_s_met'] else 'MISSED'}{unreachable}; "
              f"setup {sum(r['setup']['seconds'].values()):.0f} s "
              f"({', '.join(f'{k} {v:g}' for k, v in r['setup']['seconds'].items())})")
        if not r["checks_ok"]:
            print(f"  checks: ours {r['ours']['result']}, content {r['ours']['content']}")
    flat = record["memory"]
    if flat:
        verdict = {None: "not judged (sizes under 3× apart)", True: "met",
                   False: "MISSED"}[flat["met"]]
        print(f"memory: ours' peak RSS {flat['rss_growth']:.2f}× from {flat['from']:,} to "
              f"{flat['to']:,} people ({flat['kib_per_person']:+.1f} KiB a person); flat "
              f"(≤ {TARGET_KIB_PER_PERSON:g} KiB a person): {verdict}")
    for r in record["results"]:
        if "profile" in r:
            print(f"profile ({r['audience']:,} people): {r['profile']['file']}")


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=_ints, default=[10_000, 30_000, 100_000],
                   help="audience sizes, comma-separated (10000,30000,100000)")
    p.add_argument("--items", type=int, default=500, help="catalogue size (500)")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default=os.environ.get("TAILORED_BENCH_PG_URL", DEFAULT_PG),
                   help="server the scratch database is made on (%(default)s)")
    p.add_argument("--peers", default="plain,raw",
                   help="plain (the issue's peer), raw (for information), comma-separated")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--samples", type=int, default=20,
                   help="messages of ours the sink keeps for the content check (20)")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds a sending process may take before it is killed")
    p.add_argument("--workdir", default=None, help="where the temporary folders go")
    p.add_argument("--keep", action="store_true", help="keep each size's folder")
    p.add_argument("--profile", nargs="?", default=None, metavar="FILE",
                   const=str(HERE / "results" / "campaign_send_profile.txt"),
                   help="after the smallest size's runs, send a second campaign to the same "
                   "audience under cProfile; the top entries inside src/tailored go to FILE "
                   "(benchmarks/results/campaign_send_profile.txt)")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.add_argument("--out", default=str(HERE / "results" / "campaign_send.jsonl"),
                   help="append the record as a JSON line here ('' for nowhere)")
    args = p.parse_args(argv)
    args.peers = [x.strip() for x in args.peers.split(",") if x.strip()]
    if set(args.peers) - {"plain", "raw"}:
        p.error("--peers: plain and/or raw")
    if any(n < 2 for n in args.sizes):
        p.error("--sizes: at least 2 people")
    if not TAILORED.exists():
        raise SystemExit(f"{TAILORED} not found: install the project first (see README)")

    record: dict[str, Any] = {
        "benchmark": "campaign_send", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "git": git_revision(), "machine": machine(),
        "db": args.db, "items": args.items, "k": K, "load_before": os.getloadavg(),
        "results": []}
    sink = Sink(args.samples)
    try:
        for n in args.sizes:
            if not args.json:
                print(f"[{args.db}] {n:,} people …", file=sys.stderr, flush=True)
            r = run_size(n, sink, args)
            record["results"].append(r)
            if not args.json:
                print(f"  ours {r['ours']['msg_per_s']:,}/s, plain "
                      f"{r['peers'].get('plain', {}).get('msg_per_s', '-')}/s, load "
                      f"{r['load_before'][0]:.2f} → {r['load_after'][0]:.2f}",
                      file=sys.stderr, flush=True)
    finally:
        sink.stop()
    record["load_after"] = os.getloadavg()
    record["memory"] = memory_flatness(record["results"])
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "ab") as f:
            f.write(orjson.dumps(record) + b"\n")
    if args.json:
        print(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())
    else:
        print_table(record)
    ok = all(r["checks_ok"] for r in record["results"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
