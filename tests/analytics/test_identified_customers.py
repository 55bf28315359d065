"""Customers are people: every customer analysis takes identified people (a user id or an
e-mail) by default, the same rule everywhere, says how many it left out, and takes everyone
with --include-anonymous."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from tailored.analytics import customer_features, identified_profiles, keep_customers, opened
from tailored.cli.app import app
from tailored.ingest import Ingestor
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tests.predict.conftest import at, order, view

GUESTS = 12  # one-order guest checkouts: no user id, no e-mail


def _shop(people: int = 120, days: int = 180, seed: int = 5) -> list[dict[str, Any]]:
    """Customers who order at their own rates, one who bought as a guest but left an
    e-mail (identified by it), and guest invoices of one order each."""
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = []
    for i in range(people):
        user, rate = f"p{i}", rng.gamma(1.0, 1 / 20)
        t, n = float(rng.uniform(0, 20)), 0
        events.append(view(user, t, 0))
        while True:
            t += rng.exponential(1 / max(rate, 1e-3))
            if t >= days:
                break
            n += 1
            events.append(order(user, t, n, float(rng.gamma(3, 10))))
    for g in range(GUESTS):
        guest = order("x", float(rng.uniform(0, days)), g, 0.0 if g % 2 else 15.0)
        guest.pop("userId")
        guest |= {"anonymousId": f"guest-{g}", "messageId": f"guest-{g}"}
        events.append(guest)
    mailed = order("x", 10.0, 0, 30.0) | {"messageId": "mail-1", "anonymousId": "mailer",
                                          "context": {"traits": {"email": "Mo@Example.com"}}}
    mailed.pop("userId")
    events.append(mailed)
    events.append(mailed | {"messageId": "mail-2", "timestamp": at(40.0)})
    return events


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("customers")
    url = f"sqlite:///{folder / 's.db'}"
    with Store.open(url) as store:
        report = Ingestor(store).ingest_events(_shop())
        assert not report.rejected, report.rejected
        export_snapshot(store, folder / "snap")
    return url, folder / "snap"


def test_identified_means_a_user_id_or_an_e_mail(shop: tuple[str, Path]) -> None:
    with opened(shop[1]) as source:
        ids = set(identified_profiles(source).execute()["profile_id"])
        p = source.profiles.execute()
        features = customer_features(source)
        kept, customers = keep_customers(source, features)
        everyone, all_of_them = keep_customers(source, features, include_anonymous=True)
        n_kept, n_all = kept.count().execute(), everyone.count().execute()
    with_user = set(p.loc[p["user_id"].notna(), "profile_id"])
    assert len(with_user) == 120 and with_user < ids and len(ids - with_user) == 1
    assert customers.excluded == GUESTS and n_kept == 121 and n_all == 121 + GUESTS
    assert customers.report() == {
        "customers_rule": "identified people (a user id or an e-mail)",
        "excluded": {"anonymous": GUESTS}}
    assert all_of_them.report()["excluded"] == {"anonymous": 0}


def _json(url: str, folder: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["--db", url, *args, "--snapshot", str(folder), "--json"])
    assert result.exit_code == 0, (args, result.output, result.exception)
    return json.loads(result.output)


COMMANDS = [
    ("segment", "rfm", "--no-save"),
    ("segment", "lifecycle"),
    ("segment", "cluster", "--k", "3"),
    ("segment", "learn", "--target", '{"metric": "orders", ">=": 3}'),
    ("predict", "propensity", "--cutoff", "2025-04-06", "--horizon-days", "30", "--no-write"),
    ("predict", "churn", "--cutoff", "2025-04-06", "--horizon-days", "30", "--no-write"),
    ("predict", "clv", "--calibration-end", "2025-04-06", "--no-write"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_customer_command_leaves_out_anonymous_people_and_says_so(
        shop: tuple[str, Path], command: tuple[str, ...]) -> None:
    url, folder = shop
    default = _json(url, folder, *command)
    everyone = _json(url, folder, *command, "--include-anonymous")
    assert default["customers_rule"] == "identified people (a user id or an e-mail)"
    assert everyone["customers_rule"] == "everyone"
    assert everyone["excluded"] == {"anonymous": 0}
    left = default["excluded"]["anonymous"]
    # Every guest bought, so every population that holds buyers loses all twelve.
    assert left == GUESTS, default["excluded"]
    if command[1] in ("rfm", "cluster"):
        assert everyone["customers"] == default["customers"] + GUESTS
    if command[1] == "learn":
        assert everyone["metrics"]["customers"] == default["metrics"]["customers"] + GUESTS
    if command[1] == "clv":
        assert everyone["data"]["customers"] == default["data"]["customers"] + GUESTS
    if command[1] in ("propensity", "churn"):
        assert everyone["scored"] == default["scored"] + GUESTS


def test_lifecycle_members_are_customers_only(shop: tuple[str, Path]) -> None:
    url, folder = shop
    _json(url, folder, "segment", "lifecycle")
    with Store.open(url) as store:
        from tailored.segments import current_members

        members = {m for name in ("new", "active", "churned", "low_spend", "low_frequency")
                   for m in current_members(store, name)}
        guests = {store.find_profile(f"guest-{g}") for g in range(GUESTS)}
    assert members and not members & guests


def test_clv_output_leads_with_the_top_customers(shop: tuple[str, Path]) -> None:
    url, folder = shop
    result = CliRunner().invoke(app, ["--db", url, "predict", "clv", "--calibration-end",
                                      "2025-04-06", "--no-write", "--snapshot", str(folder)],
                                terminal_width=160)
    assert result.exit_code == 0, result.output
    out = result.output
    report = _json(url, folder, "predict", "clv", "--calibration-end", "2025-04-06",
                   "--no-write")
    best = report["top_customers"][0]
    assert out.index("Top 10 customers by expected value") < out.index(best["user_id"]) < (
        out.index("bg-nbd on")) < out.index("alpha")
    assert "anonymous buyers left out" in out
    assert "p_alive = 1" in out  # BG/NBD's one-time buyers, said where they are shown
