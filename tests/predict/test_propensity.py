"""Purchase propensity and churn: no leakage past the cut-off, metrics beside the baseline,
scores on profiles, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tailored.analytics import opened
from tailored.cli.app import app
from tailored.errors import InvalidInput, TailoredError
from tailored.predict import FEATURES, labelled, lift_at, reliability, run_propensity, score_metrics
from tailored.store import Store
from tests.predict.conftest import DAY0, build_snapshot, build_store, order, view

CUTOFF = DAY0 + timedelta(days=120)


def shop(people: int = 150, days: int = 180, seed: int = 3) -> list[dict[str, Any]]:
    """People who order at steady personal rates, some of whom stop half-way; and one
    anonymous visitor, who is never scored."""
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = [view("anon", 1, 1) | {"userId": None,
                                                           "anonymousId": "anon"}]
    for i in range(people):
        user, rate = f"p{i}", rng.gamma(0.8, 1 / 25)  # ~1 order a month on average
        stops = rng.uniform(30, days) if rng.random() < 0.4 else days
        t, n = float(rng.uniform(0, 20)), 0
        events.append(view(user, t, 0))
        while True:
            t += rng.exponential(1 / rate)
            if t >= stops:
                break
            n += 1
            events.append(order(user, t, n, float(rng.gamma(3, 10))))
    for e in events:
        if e.get("userId") is None:
            e.pop("userId", None)
    return events


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_snapshot(tmp_path_factory.mktemp("shop"), "shop", shop())


def test_changing_events_after_the_cutoff_never_changes_a_feature(
        tmp_path: Path, backend: tuple[str, str | None]) -> None:
    base = shop(people=40)
    # The same history to the cut-off; after it, some orders gone and new ones added.
    later = [e for e in base if datetime.fromisoformat(e["timestamp"]) < CUTOFF
             or e["messageId"].endswith("1")]
    later += [order(f"p{i}", 121 + i % 30, 900 + i, 99.0) for i in range(0, 40, 3)]
    later += [view(f"p{i}", 120.0, 900 + i) for i in range(40)]  # at the cut-off exactly
    assert sorted(e["messageId"] for e in base) != sorted(e["messageId"] for e in later)
    name, url = backend
    frames = []
    for label, events in (("base", base), ("later", later)):
        folder = build_snapshot(tmp_path, label, events)
        with opened(folder, name, url=url, schema=f"d_leak_{label}") as source:
            users = dict(source.profiles.select("profile_id", "user_id").execute().values)
            frame = labelled(source, cutoff=CUTOFF, horizon_days=30, target="purchase")
        frames.append(frame.assign(user=frame["profile_id"].map(users)).set_index("user"))
    a, b = frames
    pd.testing.assert_frame_equal(a[list(FEATURES)].sort_index(), b[list(FEATURES)].sort_index())
    assert (a["label"].sort_index() != b["label"].sort_index()).any()  # labels did change


def test_churn_population_is_customers_and_labels_are_the_opposite(folder: Path) -> None:
    with opened(folder) as source:
        buy = labelled(source, cutoff=CUTOFF, horizon_days=30, target="purchase")
        churn = labelled(source, cutoff=CUTOFF, horizon_days=30, target="churn")
    assert (churn["orders"] > 0).all() and len(churn) < len(buy)
    both = buy.merge(churn, on="profile_id", suffixes=("_buy", "_churn"))
    assert ((both["label_buy"] + both["label_churn"]) == 1).all()


def test_metrics_on_known_scores() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    perfect = np.array([0.9, 0.1, 0.8, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    m = score_metrics(y, perfect)
    assert (m["roc_auc"], m["pr_auc"], m["accuracy"], m["f1"]) == (1.0, 1.0, 1.0, 1.0)
    assert m["lift_top_decile"] == 5.0  # the top 10% (one person) buys; the base rate is 20%
    assert lift_at(y, -perfect) == 0.0
    bins = reliability(y, perfect)
    assert [b["count"] for b in bins] == [7, 1, 1, 1] and bins[-1]["observed"] == 1.0
    assert m["brier"] == pytest.approx(np.mean((perfect - y) ** 2), abs=1e-4)


def test_models_beat_nothing_and_stand_beside_the_baseline(folder: Path) -> None:
    with opened(folder) as source:
        report, traits = run_propensity(source, cutoff=CUTOFF, horizon_days=30)
    assert set(report["models"]) == {"logistic_regression", "random_forest",
                                     "gradient_boosting"}
    assert report["baseline"]["name"] == "recency_baseline"
    assert report["best"] in report["models"]
    for metrics in [report["baseline"], *report["models"].values()]:
        assert {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier",
                "lift_top_decile", "reliability"} <= set(metrics)
    # Steady personal rates are learnable: every model ranks buyers well above chance.
    assert all(m["roc_auc"] > 0.65 for m in report["models"].values()), report["models"]
    assert report["test"]["people"] == 150 and len(traits) == 150  # not the anonymous one
    assert all(0 <= t["purchase_propensity"] <= 1 for t in traits.values())


def test_cutoff_outside_the_data_names_the_range(folder: Path) -> None:
    with opened(folder) as source:
        with pytest.raises(InvalidInput, match="events run from 2025-01-06 to") as err:
            run_propensity(source, cutoff=datetime(2030, 1, 1, tzinfo=UTC), horizon_days=30)
        assert err.value.field == "cutoff"
        with pytest.raises(InvalidInput, match="cut-off must be between 2025-02-05"):
            run_propensity(source, cutoff=DAY0 + timedelta(days=10), horizon_days=30)
        with pytest.raises(InvalidInput, match="at least 1 day") as err:
            run_propensity(source, cutoff=CUTOFF, horizon_days=0)
        assert err.value.field == "horizon_days"
        with pytest.raises(InvalidInput, match="purchase or churn"):
            run_propensity(source, cutoff=CUTOFF, horizon_days=30, target="upsell")


def test_too_few_buyers_says_how_many_are_needed(tmp_path: Path) -> None:
    folder = build_snapshot(tmp_path, "tiny", shop(people=12))
    with opened(folder) as source, pytest.raises(
            InvalidInput, match=r"too few buyers .* at least 50 people and 10 of each label"):
        run_propensity(source, cutoff=CUTOFF, horizon_days=30)


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", url, *args])
    if isinstance(result.exception, TailoredError):
        return 1, f"error: {result.exception}"
    return result.exit_code, result.output


def test_commands_report_json_and_write_scores_to_traits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    build_store(url, shop())
    code, output = _cli(url, "predict", "propensity", "--cutoff", "2025-05-06",
                        "--horizon-days", "30", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["traits_written"] == 150 and report["trait"] == "purchase_propensity"
    code, output = _cli(url, "predict", "churn", "--cutoff", "2025-05-06", "--horizon-days",
                        "30", "--no-write", "--json")
    assert code == 0, output
    assert json.loads(output)["traits_written"] == 0
    with Store.open(url) as store:
        assert set(store.profile("p1")["traits"]) == {"purchase_propensity"}
    code, output = _cli(url, "predict", "propensity", "--cutoff", "May 6", "--json")
    assert code == 1 and "cutoff must be a date YYYY-MM-DD" in output
