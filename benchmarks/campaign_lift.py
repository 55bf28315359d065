"""Campaign lift on the demo shop: an e-mail of recommended items beside one of best-sellers
and a holdout, the responses drawn from the shop's hidden truth, measured by ``tailored
campaign report``.

Steps, on a fresh SQLite store in a temporary folder:

shop      the demo shop of ``--people`` customers (``--shop-seed``; items and days as
          ``tailored quickstart`` makes them: max(100, 3/4 of the people) items, 120 days),
          ingested, and the demo's standard recommender trained (``--model``, item-knn: what
          the quickstart trains when ``TAILORED_DEFAULT_MODEL`` is unset). The profile ids
          the ingest mints are drawn from the shop's seed here (they are random uuid4
          otherwise, and the arms are a hash of them), so the same seeds give the same arms,
          messages and figures.
campaign  two templates with the same subject: ``recs`` lists ``recommendations(4)``, ``best``
          the 4 best-selling available items (units in the store's ``Order Completed``
          events), written into its source as static HTML, since a template reads only its
          context. Each item is a link ``https://shop.example/p/{item_id}`` in an
          ``<li data-item-id=...>``. One e-mail campaign, variants ``recs`` (first, so the
          report also compares ``best`` with it) and ``best``, a ``--holdout`` share held
          out, the audience everyone with an e-mail trait, goal ``Order Completed`` within
          ``--goal-days``. ``tailored campaign send`` (TAILORED_SMTP_URL, TAILORED_MAIL_FROM,
          TAILORED_CONSENT_DEFAULT=opt-out) mails it to an aiosmtpd sink in a thread of this
          process, which keeps every message; the items each person was shown are read back
          from the received HTML, and each message is tied to its outbox row (so to its arm)
          by its recipient, the person's e-mail trait.
response  simulated from the truth, per person in the campaign (the holdout included), with
          ``--seed``; each person's tastes are the ones the generator drew (rebuilt by the
          same calls in the same order as ``generate_shop``, and checked against truth.json).
          A person converts when they buy on their own or through the e-mail:

              P(convert) = 1 - (1 - b) * (1 - o * (1 - prod_i (1 - v * c * a(person, i))))

          * ``b``, the base rate, the same for everyone: the chance of an ``Order Completed``
            within the goal window without any e-mail (``--base-rate``; by default measured
            in the store: the share of the campaign's people with an order in a goal-days
            window of the demo's history, averaged over its whole windows).
          * ``o``, the chance they open the e-mail (``--open-rate``, 0.35); ``v``, the chance
            an opener looks at each listed item (``--click-rate``, 0.5); nobody in the
            holdout (or whose message failed) gets either.
          * ``a(person, i)``, the demo's own chance that this person puts item i, viewed,
            into the cart (``tailored.demo.funnel._product_view``): ``min(0.65, 0.1 * (0.35
            + taste[leaf category of i]) * clip((price / leaf median price) ^ (-0.8 *
            price sensitivity), 0.3, 2) * (1.5 for a sale item if price sensitivity > 0.6))``,
            and 0 for an unavailable item; ``taste`` is the person's weight per leaf
            category (their segment's affinity, their secondary interest, their own noise).
          * ``c`` = 0.5 * 0.64 = 0.32, the demo's chance that a cart is checked out and then
            paid (``tailored.demo.orders.cart_and_checkout``, no coupon).

          Only the taste, the prices and the availability come from the shop; ``b``, ``o``
          and ``v`` are assumptions of this benchmark (stated, not calibrated on a real shop).
          A conversion is one ``Order Completed`` (``revenue``: the items' prices net of the
          demo's 19 % VAT; an organic order buys one item drawn as the demo's shoppers pick
          items: taste x popularity^0.7 x price term), stamped between the send and now
          (within the goal window), ingested through ``tailored.ingest.Ingestor`` onto the
          profile the campaign wrote to (its user id, else an anonymous id).
report    ``tailored campaign report lift --json`` (a subprocess): per arm people, converted,
          conversion rate, revenue per person; the lift rows (recs and best against the
          holdout, best against recs) with their 95 % intervals and p-values; the
          sample-ratio check. The report's counts are checked against the simulated ones.
power     before the draw, from the exact conversion chances above: each arm's expected
          rate, the people ``sample_size`` says the expected lift of recs over best needs
          (two-sided, alpha 0.05, power 0.8), and the power the arms' actual sizes give
          (normal approximation); then the empirical power: the draw repeated ``--repeats``
          times with seeds (``--seed``, r) for r = 1..R on the same assignment and the same
          messages, ``proportion_lift`` on each draw's counts, counting the draws in which
          recs beat best with p < 0.05 and a positive lift (the same for each arm against
          the holdout). The one fixed-seed run above is what the report shows.

    .venv/bin/python benchmarks/campaign_lift.py                  # 5,000 customers
    .venv/bin/python benchmarks/campaign_lift.py --people 1000 --repeats 100 --out ''
    .venv/bin/python benchmarks/campaign_lift.py --open-rate 1 --click-rate 1   # strong effect
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import html
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from http_ingest import free_port  # noqa: E402
from ingest_throughput import git_revision, machine  # noqa: E402

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.demo import ShopConfig
    from tailored.store import Store

TAILORED = ROOT / ".venv" / "bin" / "tailored"
CAMPAIGN = "lift"
ARMS = ("holdout", "recs", "best")
K = 4
ITEM_URL = "https://shop.example/p/"
MAIL_FROM = "Shop <shop@example.com>"
PUBLIC_URL = "https://t.shop.example"
CHECKOUT = 0.5 * 0.64  # the demo's chance a cart goes to checkout, then is paid
VAT = 1.19  # the demo's prices include it; revenue is net of it
ALPHA = 0.05
_ITEM_ID = re.compile(r'data-item-id="([^"]+)"')

SUBJECT = "{{ traits.first_name | default('there') }}, this week at the shop"
RECS_HTML = """<!doctype html>
<html><body>
<p>Hello {{ traits.first_name | default("there") }},</p>
<p>Picked for you:</p>
<ul>
{% for item in recommendations(4) %}
  <li class="item" data-item-id="{{ item.item_id }}">
    <a href="%(url)s{{ item.item_id }}">{{ item.title }}</a></li>
{% endfor %}
</ul>
<p style="font-size: small"><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>
""".replace("%(url)s", ITEM_URL)
RECS_TEXT = """Hello {{ traits.first_name | default("there") }},

Picked for you:
{% for item in recommendations(4) %}
* {{ item.title }}
  %(url)s{{ item.item_id }}
{% endfor %}
Unsubscribe: {{ unsubscribe_url }}
""".replace("%(url)s", ITEM_URL)


def best_templates(best: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """The ``best`` variant's HTML and text: the same message, the list written in."""
    rows = "".join(
        f'  <li class="item" data-item-id="{html.escape(b["item_id"])}"><a href="{ITEM_URL}'
        f'{html.escape(b["item_id"])}">{html.escape(b["title"] or b["item_id"])}</a></li>\n'
        for b in best)
    lines = "".join(f"* {b['title'] or b['item_id']}\n  {ITEM_URL}{b['item_id']}\n"
                    for b in best)
    # Kept raw: a title is shop data, never template code.
    page = RECS_HTML.split("{% for", 1)[0].replace("<p>Picked for you:</p>",
                                                   "<p>Our best sellers:</p>")
    text = RECS_TEXT.split("{% for", 1)[0].replace("Picked for you:", "Our best sellers:")
    return (page + "{% raw %}" + rows + "{% endraw %}</ul>\n"
            + RECS_HTML.split("</ul>\n", 1)[1],
            text + "{% raw %}" + lines + "{% endraw %}\nUnsubscribe: {{ unsubscribe_url }}\n")


# -- the shop --------------------------------------------------------------------------------

def shop_config(people: int, seed: int) -> ShopConfig:
    """The shop ``tailored quickstart --people N --seed S`` generates."""
    from tailored.demo import ShopConfig

    return ShopConfig(people=people, items=max(100, people * 3 // 4), days=120, seed=seed)


def open_settings(url: str, folder: Path) -> Settings:
    """This process's settings (it ingests and trains; the subprocesses send and report),
    nothing read from the caller's TAILORED_* variables."""
    from tailored.config import Settings

    return Settings(database_url=url, mail_from=MAIL_FROM,
                    public_url=PUBLIC_URL, consent_default="opt-out", default_model=None,
                    quiet_hours=None, frequency_caps=None, send_rate=0.0, redis_url=None,
                    models_dir=None, snapshot_dir=folder / "snapshot")


@contextlib.contextmanager
def seeded_uuids(seed: int) -> Iterator[None]:
    """``uuid.uuid4`` drawn from ``seed`` meanwhile. The ingest mints profile ids with it
    (``tailored.identity.graph``), and a campaign's arms are a hash of the profile ids, so
    without this a rerun with the same seeds would split the same people differently."""
    rng = random.Random(f"profile-ids-{seed}")
    real = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
    try:
        yield
    finally:
        uuid.uuid4 = real


def build_shop(folder: Path, config: ShopConfig, model: str) -> tuple[Store, dict[str, Any]]:
    """Generate, write, ingest and train: the store and what was done, timed."""
    from tailored.demo import generate_shop, read_shop_records, write_shop
    from tailored.ingest import Ingestor
    from tailored.recommend.model_store import open_models
    from tailored.recommend.training import train_from_store
    from tailored.store import Store

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    shop = generate_shop(config)
    write_shop(shop, folder / "shop")
    truth = shop.truth
    del shop
    seconds["generate"] = round(time.perf_counter() - t0, 2)
    url = f"sqlite:///{folder / 'store.db'}"
    settings = open_settings(url, folder)
    store = Store.open(url)
    t0 = time.perf_counter()
    with seeded_uuids(config.seed):
        report = Ingestor.from_settings(store, settings).ingest(
            read_shop_records(folder / "shop"))
    seconds["ingest"] = round(time.perf_counter() - t0, 2)
    if report.rejected:
        raise RuntimeError(f"the demo shop was not ingested cleanly: {report.rejected[:3]}")
    t0 = time.perf_counter()
    _, trained = train_from_store(store, model, open_models(store, settings.models_folder()))
    seconds["train"] = round(time.perf_counter() - t0, 2)
    return store, {"customers": config.people, "items": config.items, "days": config.days,
                   "shop_seed": config.seed, "events": report.accepted, "truth": truth,
                   "model": {k: trained.get(k) for k in ("model", "users", "items",
                                                         "interactions", "train_seconds")},
                   "seconds": seconds}


@dataclass(frozen=True)
class Taste:
    """What the generator decided about one person that a message's response hangs on."""

    taste: tuple[float, ...]  # weight per leaf category
    sensitivity: float  # to price, 0..1


@dataclass(frozen=True)
class Truth:
    """The hidden truth the responses are drawn from."""

    people: dict[str, Taste]  # by e-mail address, lower case
    item_index: dict[str, int]
    sub: np.ndarray  # leaf category of each item
    price: np.ndarray
    median: np.ndarray  # the median price of the item's leaf category
    available: np.ndarray
    sale: np.ndarray
    popularity: np.ndarray
    ids: list[str]  # item ids, in the order of the arrays

    def cart_chance(self, person: Taste, item_id: str) -> float:
        """The demo's chance this person puts this item, viewed, into the cart."""
        j = self.item_index.get(item_id)
        if j is None or not self.available[j]:
            return 0.0
        term = (self.price[j] / self.median[j]) ** (-0.8 * person.sensitivity)
        chance = 0.1 * (0.35 + person.taste[self.sub[j]]) * min(2.0, max(0.3, term))
        chance *= 1.5 if self.sale[j] and person.sensitivity > 0.6 else 1.0
        return min(0.65, chance)

    def pick_weights(self, person: Taste) -> np.ndarray:
        """How the demo's shoppers choose among items (``funnel._pref``), available only."""
        taste = np.asarray(person.taste)[self.sub]
        w = taste * self.popularity ** 0.7
        w = w * (self.price / self.median) ** (-1.5 * person.sensitivity)
        w = w * np.where(self.sale & (person.sensitivity > 0.6), 1.8, 1.0)
        return np.where(self.available, w, 0.0)


def hidden_truth(config: ShopConfig, truth: dict[str, Any]) -> Truth:
    """Each person's tastes as the generator drew them: the first calls of
    ``generate_shop``, made again in its order on a generator seeded alike, and checked
    against the truth it wrote (segment, e-mail, price sensitivity; item quality)."""
    from tailored.demo.catalog import make_items
    from tailored.demo.context import to_ms
    from tailored.demo.graph import make_edges
    from tailored.demo.people import make_people
    from tailored.demo.sessions import Simulator

    rng = random.Random(config.seed)
    start = to_ms(config.start.astimezone(UTC))
    items = make_items(rng, config.items, start)
    people = make_people(rng, config.people, start, config.days)
    make_edges(rng, people)
    sim = Simulator(rng, config.seed, start, config.days, items, people)
    for p in people:
        t = truth["people"][p.uid]
        if (t["segment"], t["email"], t["price_sensitivity"]) != (
                p.segment, p.email, p.price_sensitivity):
            raise RuntimeError(f"the rebuilt truth differs from truth.json for {p.uid}: "
                               "generate_shop changed its order of draws")
    if any(truth["items"][i.item_id]["quality"] != i.quality for i in items):
        raise RuntimeError("the rebuilt catalogue differs from truth.json")
    medians = [s.median_price for s in sim.subs]
    return Truth(
        people={p.email.lower(): Taste(tuple(p.state["sub_w"]), p.price_sensitivity)
                for p in people},
        item_index={i.item_id: j for j, i in enumerate(items)},
        sub=np.array([i.sub for i in items]), price=np.array([i.price for i in items]),
        median=np.array([medians[i.sub] for i in items]),
        available=np.array([i.available for i in items]),
        sale=np.array([i.sale for i in items]),
        popularity=np.array([i.popularity for i in items]),
        ids=[i.item_id for i in items])


def best_sellers(store: Store, k: int) -> list[dict[str, Any]]:
    """The ``k`` available items most bought (units) in the store's ``Order Completed``."""
    from tailored.store.tables import events, items

    units: Counter[str] = Counter()
    with store.reading() as conn:
        for (props,) in conn.execute(sa.select(events.c.properties)
                                     .where(events.c.event == "Order Completed")):
            for line in (props or {}).get("products") or []:
                if isinstance(line, dict) and line.get("product_id"):
                    quantity = line.get("quantity")
                    units[str(line["product_id"])] += quantity if isinstance(
                        quantity, int) and quantity > 0 else 1
        catalogue = {r.item_id: r for r in conn.execute(
            sa.select(items.c.item_id, items.c.title, items.c.available))}
    ranked = sorted((i for i in units if i in catalogue and catalogue[i].available),
                    key=lambda i: (-units[i], i))
    return [{"item_id": i, "title": catalogue[i].title, "units": units[i]}
            for i in ranked[:k]]


# -- the campaign ----------------------------------------------------------------------------

def define_campaign(store: Store, best: Sequence[dict[str, Any]], holdout: float,
                    goal_days: float) -> None:
    from tailored.campaigns.definitions import create_campaign
    from tailored.campaigns.template_store import save_template
    from tailored.campaigns.templates import MessageTemplate

    best_html, best_text = best_templates(best)
    save_template(store, MessageTemplate("lift-recs", subject=SUBJECT, html=RECS_HTML,
                                         text=RECS_TEXT))
    save_template(store, MessageTemplate("lift-best", subject=SUBJECT, html=best_html,
                                         text=best_text))
    create_campaign(store, {
        "name": CAMPAIGN, "channel": "email",
        "variants": [{"name": "recs", "template": "lift-recs"},
                     {"name": "best", "template": "lift-best"}],
        "rule": {"trait": "email", "exists": True}, "holdout": holdout,
        "goal": "Order Completed", "goal_days": goal_days})


class Sink:
    """An SMTP server (aiosmtpd) in a thread of this process: every message it is given,
    as (recipient, raw bytes)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        with self.lock:
            self.received.extend((rcpt, data) for rcpt in envelope.rcpt_tos)
        return "250 OK"

    def __enter__(self) -> Sink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def cli_env(url: str, folder: Path, smtp_url: str) -> dict[str, str]:
    """The environment of the ``tailored`` subprocesses: none of the caller's TAILORED_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    env.update({"NO_COLOR": "1", "TAILORED_DATABASE_URL": url, "TAILORED_SMTP_URL": smtp_url,
                "TAILORED_MAIL_FROM": MAIL_FROM, "TAILORED_PUBLIC_URL": PUBLIC_URL,
                "TAILORED_CONSENT_DEFAULT": "opt-out",
                "TAILORED_SNAPSHOT_DIR": str(folder / "snapshot")})
    return env


def cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([str(TAILORED), *args, "--json"], env=env, capture_output=True,
                          text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"tailored {' '.join(args)} failed:\n{done.stderr[-3000:]}"
                           f"{done.stdout[-3000:]}")
    return json.loads(done.stdout)


def shown_items(received: Sequence[tuple[str, bytes]]) -> dict[str, list[str]]:
    """The item ids listed in each received message's HTML, by recipient."""
    out: dict[str, list[str]] = {}
    for rcpt, raw in received:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(("html",))
        if rcpt in out:
            raise RuntimeError(f"{rcpt} was sent two messages")
        out[rcpt] = _ITEM_ID.findall(body.get_content()) if body is not None else []
    return out


@dataclass
class Member:
    """One person of the campaign: their outbox row, who they are, what they were shown."""

    outbox_id: int
    profile_id: str
    arm: str
    status: str
    address: str | None
    created_at: datetime
    email: str | None  # their e-mail trait, lower case: the key into the truth
    identity: tuple[str, str] | None  # (userId or anonymousId, value): where events go
    shown: list[str]


def members(store: Store, shown: dict[str, list[str]]) -> list[Member]:
    """Everyone the campaign assigned (the holdout too), by outbox row."""
    from tailored.store.tables import identities, outbox, profiles

    with store.reading() as conn:
        rows = conn.execute(sa.select(outbox).where(outbox.c.campaign == CAMPAIGN)
                            .order_by(outbox.c.id)).all()
        pids = [r.profile_id for r in rows]
        traits: dict[str, Any] = {}
        ids: dict[str, tuple[str, str]] = {}
        for i in range(0, len(pids), 900):
            chunk = pids[i:i + 900]
            for pid, t in conn.execute(sa.select(profiles.c.profile_id, profiles.c.traits)
                                       .where(profiles.c.profile_id.in_(chunk))):
                traits[pid] = store.personal.reveal_traits(t or {})
            for pid, kind, value in conn.execute(
                    sa.select(identities.c.profile_id, identities.c.kind, identities.c.value)
                    .where(identities.c.profile_id.in_(chunk),
                           identities.c.kind.in_(("user_id", "anonymous_id")))
                    .order_by(identities.c.kind.desc(), identities.c.value)):
                ids.setdefault(pid, ("userId" if kind == "user_id" else "anonymousId",
                                     store.personal.reveal_identity(kind, value)))
    out = []
    for r in rows:
        mail = traits.get(r.profile_id, {}).get("email")
        out.append(Member(
            int(r.id), r.profile_id, r.variant, r.status, r.address, r.created_at,
            mail.strip().lower() if isinstance(mail, str) else None, ids.get(r.profile_id),
            shown.get(r.address or "", []) if r.status == "sent" else []))
    return out


def measured_base_rate(store: Store, people: Sequence[str], truth: dict[str, Any],
                       goal_days: float) -> float:
    """The share of ``people`` with an ``Order Completed`` in a goal-days window of the
    demo's history, averaged over its whole windows."""
    from tailored.store.tables import events, profiles

    start = datetime.fromisoformat(truth["window"]["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(truth["window"]["end"].replace("Z", "+00:00"))
    window = timedelta(days=goal_days)
    windows = int((end - start) / window)
    wanted = set(people)
    with store.reading() as conn:
        into = dict(conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                                 .where(profiles.c.merged_into.is_not(None))).all())
        bought: set[tuple[str, int]] = set()
        for pid, at in conn.execute(sa.select(events.c.profile_id, events.c.timestamp)
                                    .where(events.c.event == "Order Completed")):
            while pid in into:
                pid = into[pid]
            w = int((at - start) / window)
            if pid in wanted and 0 <= w < windows:
                bought.add((pid, w))
    return len(bought) / (len(wanted) * windows)


# -- the response ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Response:
    """The response model's assumptions (the rest comes from the truth)."""

    base_rate: float
    open_rate: float
    click_rate: float


def item_chances(truth: Truth, m: Member, resp: Response) -> list[float]:
    """For each item shown to ``m``: the chance they buy it through the e-mail, once opened."""
    person = truth.people.get(m.email or "")
    if person is None:
        return [0.0 for _ in m.shown]
    return [resp.click_rate * CHECKOUT * truth.cart_chance(person, i) for i in m.shown]


def conversion_chance(truth: Truth, m: Member, resp: Response) -> float:
    through = 1.0 - float(np.prod([1.0 - q for q in item_chances(truth, m, resp)]))
    return 1.0 - (1.0 - resp.base_rate) * (1.0 - resp.open_rate * through)


def draw_orders(truth: Truth, people: Sequence[Member], resp: Response, seed: int,
                now: datetime) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The fixed-seed draw: one ``Order Completed`` for each person who converts."""
    rng = np.random.default_rng(seed)
    u = rng.random((len(people), 2 + K))  # organic, opened, one per listed item: aligned
    orders: list[dict[str, Any]] = []
    sources: Counter[str] = Counter()
    for row, m in zip(u, people, strict=True):
        person = truth.people.get(m.email or "")
        organic = bool(row[0] < resp.base_rate)
        opened = bool(m.shown) and bool(row[1] < resp.open_rate)
        chances = item_chances(truth, m, resp)
        bought = [i for i, q, x in zip(m.shown, chances, row[2:], strict=False)
                  if opened and x < q]
        if not (organic or bought):
            continue
        if m.identity is None:
            sources["no_identity"] += 1
            continue
        if organic and person is not None:
            w = truth.pick_weights(person)
            bought.append(truth.ids[int(rng.choice(len(w), p=w / w.sum()))])
        sources["organic" if organic and not opened else "email" if not organic
                else "both"] += 1
        at = now - timedelta(seconds=float(rng.uniform(0.0, min(
            60.0, (now - m.created_at).total_seconds()))))
        lines: list[dict[str, Any]] = [{"product_id": i, "quantity": 1,
                  "price": float(truth.price[truth.item_index[i]])} for i in bought]
        orders.append({
            "type": "track", "event": "Order Completed", m.identity[0]: m.identity[1],
            "messageId": f"lift-{seed}-{m.outbox_id}",
            "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "properties": {"order_id": f"lift-{seed}-{m.outbox_id}", "currency": "EUR",
                           "revenue": round(sum(ln["price"] for ln in lines) / VAT, 2),
                           "products": lines, "simulated": True}})
    return orders, dict(sources)


# -- power -----------------------------------------------------------------------------------

def normal_power(p_t: float, n_t: int, p_c: float, n_c: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided pooled two-proportion z-test (normal approximation)."""
    from scipy import stats as st

    if n_t == 0 or n_c == 0:
        return float("nan")
    pooled = (n_t * p_t + n_c * p_c) / (n_t + n_c)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    se1 = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    z = float(st.norm.ppf(1 - alpha / 2))
    d = p_t - p_c
    return float(st.norm.cdf((d - z * se0) / se1) + st.norm.cdf((-d - z * se0) / se1))


PAIRS = (("recs", "holdout"), ("best", "holdout"), ("recs", "best"))


def design(chances: dict[str, np.ndarray]) -> dict[str, Any]:
    """Expected rates and lifts, the people ``sample_size`` asks for, the stated power."""
    from tailored.campaigns.experiments import sample_size

    rates = {a: float(c.mean()) if len(c) else float("nan") for a, c in chances.items()}
    out: dict[str, Any] = {"expected_rate": rates, "pairs": {}}
    for t, c in PAIRS:
        n_t, n_c = len(chances[t]), len(chances[c])
        lift = rates[t] / rates[c] - 1.0
        row: dict[str, Any] = {"people": [n_t, n_c], "expected_lift": lift,
                               "stated_power": normal_power(rates[t], n_t, rates[c], n_c)}
        if lift != 0.0 and n_t and n_c:
            row["sample_size"] = sample_size(rates[c], lift, alpha=ALPHA, power=0.8,
                                             holdout_share=n_c / (n_t + n_c))
        out["pairs"][f"{t} vs {c}"] = row
    return out


def empirical_power(chances: dict[str, np.ndarray], seed: int, repeats: int
                    ) -> dict[str, Any]:
    """The draw repeated on the same people and messages: how often each pair's test
    finds the treatment better (p < alpha and lift > 0), and the spread of its lift."""
    from tailored.campaigns.experiments import proportion_lift

    wins: Counter[str] = Counter()
    lifts: dict[str, list[float]] = {f"{t} vs {c}": [] for t, c in PAIRS}
    for r in range(1, repeats + 1):
        rng = np.random.default_rng([seed, r])
        conv = {a: int((rng.random(len(c)) < c).sum()) for a, c in chances.items()}
        for t, c in PAIRS:
            key = f"{t} vs {c}"
            got = proportion_lift(conv[t], len(chances[t]), conv[c], len(chances[c]))
            if got["lift"] is not None:
                lifts[key].append(got["lift"])
            wins[key] += bool(got["p_value"] is not None and got["p_value"] < ALPHA
                              and got["lift"] is not None and got["lift"] > 0)
    return {key: {"repeats": repeats, "wins": wins[key], "power": wins[key] / repeats,
                  "lift_median": float(np.median(v)) if v else None,
                  "lift_p05_p95": [float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95))]
                  if v else None}
            for key, v in lifts.items()}


def recs_over_best(report: dict[str, Any]) -> dict[str, Any] | None:
    """The report's "best against recs" row turned round: recs against best. The interval
    is on the log of the ratio and symmetric in the two arms, so it inverts exactly."""
    row = next((x for x in report["lift"] if x["variant"] == "best"
                and x["against"] == "recs" and x["metric"] == "conversion_rate"), None)
    if row is None or row["lift"] is None:
        return None
    low, high = row["ci95"]
    return {"lift": 1 / (1 + row["lift"]) - 1,
            "ci95": [None if high is None else 1 / (1 + high) - 1,
                     None if low is None else 1 / (1 + low) - 1],
            "p_value": row["p_value"]}


# -- one run ---------------------------------------------------------------------------------

def run(*, people: int, shop_seed: int, seed: int, model: str = "item-knn",
        holdout: float = 0.2, goal_days: float = 7.0, base_rate: float | None = None,
        open_rate: float = 0.35, click_rate: float = 0.5, repeats: int = 200,
        folder: Path) -> dict[str, Any]:
    """Everything above, in ``folder``; the record."""
    from tailored.ingest import Ingestor

    timing: dict[str, float] = {}
    config = shop_config(people, shop_seed)
    store, shop = build_shop(folder, config, model)
    try:
        truth_json = shop.pop("truth")
        truth = hidden_truth(config, truth_json)
        best = best_sellers(store, K)
        define_campaign(store, best, holdout, goal_days)
        with Sink() as sink:
            env = cli_env(store.engine.url.render_as_string(hide_password=False), folder,
                          sink.url)
            t0 = time.perf_counter()
            sent = cli(env, "campaign", "send", CAMPAIGN)
            timing["send"] = round(time.perf_counter() - t0, 2)
            received = list(sink.received)
        people_in = members(store, shown_items(received))
        arms = {a: [m for m in people_in if m.arm == a] for a in ARMS}
        b = base_rate if base_rate is not None else measured_base_rate(
            store, [m.profile_id for m in people_in], truth_json, goal_days)
        resp = Response(b, open_rate, click_rate)
        chances = {a: np.array([conversion_chance(truth, m, resp) for m in arms[a]])
                   for a in ARMS}
        planned = design(chances)  # before any draw
        planned["mean_cart_chance_of_listed_items"] = {
            a: float(np.mean([truth.cart_chance(truth.people[m.email], i)
                              for m in arms[a] if m.email in truth.people for i in m.shown]))
            for a in ("recs", "best") if any(m.shown for m in arms[a])}
        now = datetime.now(UTC)
        orders, sources = draw_orders(truth, people_in, resp, seed, now)
        ordered = {o["messageId"] for o in orders}
        simulated = Counter(m.arm for m in people_in
                            if f"lift-{seed}-{m.outbox_id}" in ordered)
        ingest = Ingestor.from_settings(store, open_settings(str(store.engine.url), folder)
                                        ).ingest_events(orders)
        t0 = time.perf_counter()
        report = cli(env, "campaign", "report", CAMPAIGN)
        timing["report"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        power = empirical_power(chances, seed, repeats)
        timing["repeats"] = round(time.perf_counter() - t0, 2)
    finally:
        store.close()
    per = {v["variant"]: v for v in report["variants"]}
    short = [m for m in people_in if m.status == "sent" and len(m.shown) != K]
    checks = {
        "arms": sorted(per) == sorted(ARMS),
        "sent_all": sent["sent"] == len(arms["recs"]) + len(arms["best"])
        and not sent["failed"],
        "messages_received": len(received) == sent["sent"],
        "four_items_each": not short,
        "everyone_in_truth": all(m.email in truth.people for m in people_in),
        "orders_ingested": ingest.accepted == len(orders) and not ingest.rejected,
        "report_counts_simulated": all(per[a]["converted"] == simulated.get(a, 0)
                                       for a in ARMS if a in per),
        "report_people": all(per[a]["people"] == len(arms[a]) for a in ARMS if a in per),
    }
    return {
        "shop": {**shop, "profiles_in_campaign": len(people_in)},
        "best_sellers": best,
        "send": {k: sent.get(k) for k in ("audience", "sent", "failed", "skipped")},
        "response_model": {"base_rate": b, "base_rate_measured": base_rate is None,
                           "open_rate": open_rate, "click_rate": click_rate,
                           "checkout": CHECKOUT, "seed": seed, "sources": sources},
        "design": planned,
        "empirical_power": power,
        "report": report,
        "recs_vs_best": recs_over_best(report),
        "checks": checks,
        "checks_ok": all(checks.values()),
        "seconds": {**shop["seconds"], **timing},
    }


# -- output ----------------------------------------------------------------------------------

def _pct(x: float | None, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:+.1%}" if sign else f"{x:.2%}"


def _interval(ci: Sequence[float | None]) -> str:
    return "n/a" if ci[0] is None or ci[1] is None else f"[{ci[0]:+.1%}, {ci[1]:+.1%}]"


def print_table(record: dict[str, Any]) -> None:
    r = record["result"]
    report, plan, power = r["report"], r["design"], r["empirical_power"]
    m = r["response_model"]
    print(f"demo shop: {r['shop']['customers']:,} customers, {r['shop']['items']:,} items, "
          f"{r['shop']['events']:,} events; {r['shop']['model']['model']} trained; "
          f"{r['shop']['profiles_in_campaign']:,} people in the campaign "
          f"(sent {r['send']['sent']:,}, failed {r['send']['failed']})")
    print(f"response: base rate {m['base_rate']:.2%} "
          f"({'measured in the shop' if m['base_rate_measured'] else 'given'}), open "
          f"{m['open_rate']:g}, click per item {m['click_rate']:g}, checkout {m['checkout']:g}"
          f"; seed {m['seed']}")
    head = (f"{'arm':<8}{'people':>8}{'sent':>7}{'converted':>11}{'rate':>8}{'expected':>10}"
            f"{'revenue/person':>16}")
    print(head)
    print("-" * len(head))
    for v in report["variants"]:
        print(f"{v['variant']:<8}{v['people']:>8,}{v['sent']:>7,}{v['converted']:>11,}"
              f"{_pct(v['conversion_rate']):>8}"
              f"{_pct(plan['expected_rate'].get(v['variant'])):>10}"
              f"{v['revenue_per_person'] or 0:>16.2f}")
    print()
    head = (f"{'lift (campaign report)':<38}{'lift':>8}  {'95% interval':<19}{'p':>10}"
            f"{'expected':>10}")
    print(head)
    print("-" * len(head))
    for x in report["lift"]:
        key = f"{x['variant']} vs {x['against']}"
        expected = plan["pairs"].get(key, {}).get("expected_lift")
        if key == "best vs recs":
            expected = 1 / (1 + plan["pairs"]["recs vs best"]["expected_lift"]) - 1
        p = "n/a" if x["p_value"] is None else f"{x['p_value']:.3g}"
        print(f"{key + ', ' + x['metric']:<38}{_pct(x['lift'], True):>8}  "
              f"{_interval(x['ci95']):<19}{p:>10}"
              f"{_pct(expected, True) if x['metric'] == 'conversion_rate' else '':>10}")
    print(f"sample-ratio check: p = {report['srm_p_value']}"
          f"{' (ALARM)' if report['srm_alarm'] else ' (no alarm)'}")
    chance = plan.get("mean_cart_chance_of_listed_items", {})
    if chance:
        print("mean chance a listed item, viewed, goes into the cart (the truth): "
              + ", ".join(f"{a} {c:.3f}" for a, c in chance.items()))
    print()
    print("power (alpha 0.05, two-sided; a win = p < 0.05 and lift > 0):")
    for key, row in plan["pairs"].items():
        need = row.get("sample_size", {})
        emp = power[key]
        print(f"  {key:<16} expected lift {_pct(row['expected_lift'], True)}; "
              f"sample_size asks {need.get('per_variant', 0):,} + {need.get('holdout', 0):,}"
              f" people for power 0.8, this run has {row['people'][0]:,} + "
              f"{row['people'][1]:,}: stated power {row['stated_power']:.0%}, empirical "
              f"{emp['power']:.0%} ({emp['wins']} of {emp['repeats']} draws)")
    rb = r["recs_vs_best"]
    if rb is not None:
        won = rb["p_value"] is not None and rb["p_value"] < ALPHA and rb["lift"] > 0
        print(f"fixed-seed run: recs vs best {_pct(rb['lift'], True)} {_interval(rb['ci95'])}"
              f", p = {rb['p_value']:.3g}: recs {'WON' if won else 'did not win'} "
              f"(stated power {plan['pairs']['recs vs best']['stated_power']:.0%})")
    if not r["checks_ok"]:
        print(f"CHECKS FAILED: {[k for k, v in r['checks'].items() if not v]}")
    print(f"seconds: {r['seconds']}; load {record['load_before']} → {record['load_after']}")


@contextlib.contextmanager
def workdir(parent: str | None, keep: bool) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="tailored-lift-", dir=parent))
    try:
        yield folder
    finally:
        if keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, default=5000, help="customers in the demo shop")
    p.add_argument("--shop-seed", type=int, default=7, help="the demo shop's seed (7)")
    p.add_argument("--seed", type=int, default=1, help="the response draw's seed (1)")
    p.add_argument("--model", default="item-knn", help="the recommender trained (item-knn)")
    p.add_argument("--holdout", type=float, default=0.2)
    p.add_argument("--goal-days", type=float, default=7.0)
    p.add_argument("--base-rate", type=float, default=None,
                   help="conversion chance without the e-mail (default: measured in the shop)")
    p.add_argument("--open-rate", type=float, default=0.35)
    p.add_argument("--click-rate", type=float, default=0.5,
                   help="chance an opener looks at each listed item (0.5)")
    p.add_argument("--repeats", type=int, default=200, help="draws for the empirical power")
    p.add_argument("--workdir", default=None, help="where the temporary folder goes")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--json", action="store_true", help="print the record as JSON only")
    p.add_argument("--out", default=str(HERE / "results" / "campaign_lift.jsonl"),
                   help="append the record as a JSON line here ('' for nowhere)")
    args = p.parse_args(argv)
    if args.people < 10:
        p.error("--people: at least 10")
    if not TAILORED.exists():
        raise SystemExit(f"{TAILORED} not found: install the project first (see README)")
    record: dict[str, Any] = {
        "benchmark": "campaign_lift", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "git": git_revision(), "machine": machine(),
        "load_before": [round(x, 2) for x in os.getloadavg()]}
    with workdir(args.workdir, args.keep) as folder:
        record["result"] = run(
            people=args.people, shop_seed=args.shop_seed, seed=args.seed, model=args.model,
            holdout=args.holdout, goal_days=args.goal_days, base_rate=args.base_rate,
            open_rate=args.open_rate, click_rate=args.click_rate, repeats=args.repeats,
            folder=folder)
    record["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(record, default=str) + "\n")
    if args.json:
        print(json.dumps(record, indent=2, default=str))
    else:
        print_table(record)
    return 0 if record["result"]["checks_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
