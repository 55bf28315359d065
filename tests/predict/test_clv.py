"""Lifetime value: parameters recovered from simulated customers, the published CDNOW fit,
the command, and bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tailored.analytics import opened
from tailored.cli.app import app
from tailored.errors import InvalidInput, NotFittedError, TailoredError
from tailored.ingest import Ingestor
from tailored.ingest.sources.cdnow import read_cdnow
from tailored.predict import LifetimeValue, rfm_summary
from tailored.store import Store
from tailored.store.snapshots import export_snapshot
from tests.conftest import dataset
from tests.predict.conftest import build_store, order, simulate_bgnbd

TRUE = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}


@pytest.fixture(scope="module")
def simulated() -> object:
    return simulate_bgnbd(3000, **TRUE)


def test_bgnbd_recovers_the_parameters_it_was_simulated_with(simulated: object) -> None:
    fitted = LifetimeValue(spend=False).fit(simulated)  # type: ignore[arg-type]
    assert fitted is not None and set(fitted.params_) == set(TRUE)
    # 3,000 customers determine r and alpha to within ~15%, a and b more loosely.
    assert fitted.params_["r"] == pytest.approx(TRUE["r"], rel=0.15)
    assert fitted.params_["alpha"] == pytest.approx(TRUE["alpha"], rel=0.2)
    assert fitted.params_["a"] / (fitted.params_["a"] + fitted.params_["b"]) == pytest.approx(
        TRUE["a"] / (TRUE["a"] + TRUE["b"]), rel=0.25)


def test_predictions_rank_heavy_buyers_above_light_ones(simulated: object) -> None:
    fitted = LifetimeValue().fit(simulated)  # type: ignore[arg-type]
    people = pd.DataFrame({"customer_id": [1, 2, 3], "frequency": [0, 3, 10],
                           "recency": [0.0, 30.0, 30.0], "T": [30.0, 30.0, 30.0],
                           "monetary_value": [0.0, 20.0, 20.0]})
    expected = fitted.expected_purchases(people, 10)
    assert expected[0] < expected[1] < expected[2]
    alive = fitted.probability_alive(people)
    assert alive[0] == pytest.approx(1.0) and 0 < alive[2] <= 1
    value = fitted.lifetime_value(people, months=12)
    assert value[0] < value[1] < value[2] and np.all(value > 0)


def test_too_few_buyers_says_how_many_are_needed(simulated: object) -> None:
    with pytest.raises(InvalidInput, match=r"10 customers .* at least 50") as err:
        LifetimeValue().fit(simulated.head(10))  # type: ignore[attr-defined]
    assert err.value.field == "calibration_end"
    few_repeat = simulated.assign(frequency=0)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match=r"0 customers bought again.* at least 20"):
        LifetimeValue().fit(few_repeat)


def test_bad_settings_and_unfitted_use(simulated: object) -> None:
    with pytest.raises(InvalidInput, match="model must be one of bg-nbd") as err:
        LifetimeValue(model="nbd").fit(simulated)  # type: ignore[arg-type]
    assert err.value.field == "model"
    with pytest.raises(InvalidInput, match="fit method"):
        LifetimeValue(fit_method="em").fit(simulated)  # type: ignore[arg-type]
    with pytest.raises(NotFittedError):
        LifetimeValue().expected_purchases(simulated, 5)  # type: ignore[arg-type]


def _cli(url: str, *args: str) -> tuple[int, str]:
    """The command in process; a domain error as the console program prints it."""
    result = CliRunner().invoke(app, ["--db", url, *args])
    if isinstance(result.exception, TailoredError):
        return 1, f"error: {result.exception}"
    return result.exit_code, result.output


def test_clv_command_refuses_bad_dates_and_units(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    build_store(url, [order(f"u{i}", i, i, 10.0) for i in range(5)])
    cases = [
        (["--calibration-end", "1997-13-01"], "calibration end must be a date YYYY-MM-DD"),
        (["--calibration-end", "2025-01-08", "--holdout-end", "2025-01-07"],
         "holdout end 2025-01-07 is not after the calibration end 2025-01-08"),
        (["--calibration-end", "2025-01-08", "--time-unit", "months"],
         "time unit must be one of days, weeks"),
        (["--calibration-end", "2020-01-01"],
         "calibration end 2020-01-01 is outside the data: the purchases run from 2025-01-06 "
         "to 2025-01-10"),
        (["--calibration-end", "2025-01-08"], "too few buyers to fit bg-nbd: 3 customers"),
    ]
    for args, message in cases:
        code, output = _cli(url, "predict", "clv", *args, "--json")
        assert code == 1 and message in output, (args, output)


def _cdnow_snapshot(tmp_path: Path) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'cdnow.db'}"
    with Store.open(url) as store:
        report = Ingestor(store).ingest(read_cdnow(dataset("cdnow", "CDNOW_sample.txt.gz")))
        assert not report.rejected
        export_snapshot(store, tmp_path / "snap")
    return url, tmp_path / "snap"


# Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing Science
# 24(2): BG/NBD on the 1/10 sample, 39 weeks of calibration; and "RFM and CLV", Journal of
# Marketing Research 42(4): Gamma-Gamma on the same customers.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426,
             "p": 6.25, "q": 3.74, "v": 15.44}


@pytest.mark.dataset
def test_cdnow_bgnbd_matches_the_published_parameters(tmp_path: Path) -> None:
    url, folder = _cdnow_snapshot(tmp_path)
    code, output = _cli(url, "predict", "clv", "--snapshot", str(folder), "--calibration-end",
                        "1997-09-30", "--holdout-end", "1998-06-30", "--time-unit", "weeks",
                        "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["model"] == "bg-nbd" and report["time_unit"] == "weeks"
    assert report["customers"] == 2357
    # Published to three decimals (p, q, v to two): within half a per cent of each.
    for name, value in PUBLISHED.items():
        assert report["params"][name] == pytest.approx(value, rel=0.005), name
    holdout = report["holdout"]
    assert holdout["actual_purchases"] == 1882 and holdout["mae_purchases"] < 1.0
    curve = holdout["curve"]
    assert len(curve) == 78 and curve[-1]["actual"] == 4339
    # The cumulative curve stays within 5% of the actual by the end of the holdout.
    assert curve[-1]["predicted"] == pytest.approx(curve[-1]["actual"], rel=0.05)
    assert report["traits_written"] == 2357
    with Store.open(url) as store:
        traits = store.profile("4")["traits"]
    assert set(traits) == {"clv", "expected_purchases", "p_alive"} and traits["clv"] > 0


@pytest.mark.dataset
@pytest.mark.postgres
def test_cdnow_summary_is_the_same_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    _, folder = _cdnow_snapshot(tmp_path)
    frames = []
    for name, url in (("duckdb", None), ("postgres", postgres_url)):
        with opened(folder, name, url=url, schema="d_cdnow") as source:
            frames.append(rfm_summary(source, calibration_end=date(1997, 9, 30),
                                      holdout_end=date(1998, 6, 30)))
    duck, pg = frames
    assert len(duck) == 2357 and duck["frequency"].sum() == 2457
    pd.testing.assert_frame_equal(duck, pg, check_dtype=False)


def _plain_cdnow_events(path: Path) -> list[dict[str, object]]:
    """The CDNOW sample read straight from the file as a server-side order feed would send
    it: one Order Completed per line with its revenue, no products."""
    import gzip

    events: list[dict[str, object]] = []
    with gzip.open(path, "rt") as lines:
        for n, line in enumerate(lines):
            master, _, day, _, dollars = line.split()
            events.append({
                "type": "track", "event": "Order Completed", "userId": str(int(master)),
                "messageId": f"plain-{n}",
                "timestamp": f"{day[:4]}-{day[4:6]}-{day[6:]}T00:00:00Z",
                "properties": {"order_id": str(n), "revenue": float(dollars)}})
    return events


@pytest.mark.dataset
def test_cdnow_as_plain_order_events_fits_as_the_import_does(tmp_path: Path) -> None:
    url, folder = _cdnow_snapshot(tmp_path)
    plain_url = f"sqlite:///{tmp_path / 'plain.db'}"
    with Store.open(plain_url) as store:
        report = Ingestor(store).ingest_events(
            _plain_cdnow_events(dataset("cdnow", "CDNOW_sample.txt.gz")))
        assert not report.rejected and report.accepted == 6919
        export_snapshot(store, tmp_path / "plain")
    summaries = []
    for snap in (folder, tmp_path / "plain"):
        with opened(snap) as source:
            users = dict(source.profiles.select("profile_id", "user_id").execute().values)
            summary = rfm_summary(source, calibration_end=date(1997, 9, 30),
                                  holdout_end=date(1998, 6, 30))
        summary["customer_id"] = summary["customer_id"].map(users)
        summaries.append(summary.sort_values("customer_id").reset_index(drop=True))
    pd.testing.assert_frame_equal(*summaries)
    args = ("predict", "clv", "--calibration-end", "1997-09-30", "--holdout-end",
            "1998-06-30", "--no-write", "--json")
    imported = json.loads(_cli(url, *args, "--snapshot", str(folder))[1])
    plain = json.loads(_cli(plain_url, *args, "--snapshot", str(tmp_path / "plain"))[1])
    assert plain["customers"] == imported["customers"] == 2357
    for name, value in imported["params"].items():
        assert plain["params"][name] == pytest.approx(value, rel=1e-6), name
    for name in ("r", "alpha", "a", "b"):
        assert plain["params"][name] == pytest.approx(PUBLISHED[name], rel=0.005), name
    assert plain["holdout"]["mae_purchases"] == imported["holdout"]["mae_purchases"]


@pytest.mark.dataset
def test_cdnow_auto_picks_the_model_that_errs_less_and_says_why(tmp_path: Path) -> None:
    url, folder = _cdnow_snapshot(tmp_path)
    code, output = _cli(url, "predict", "clv", "--snapshot", str(folder), "--calibration-end",
                        "1997-09-30", "--holdout-end", "1998-06-30", "--model", "auto",
                        "--no-write", "--json")
    assert code == 0, output
    report = json.loads(output)
    candidates = report["selection"]["candidates"]
    assert set(candidates) == {"bg-nbd", "mbg-nbd"} and report["model_requested"] == "auto"
    maes = {name: c["mae_purchases"] for name, c in candidates.items()}
    assert report["model"] == min(maes, key=maes.get) == "mbg-nbd"
    assert maes["mbg-nbd"] < maes["bg-nbd"] < 1.0
    assert report["holdout"]["mae_purchases"] == maes["mbg-nbd"]
    # One-time buyers can lapse under MBG/NBD: none is held certainly alive.
    alive = report["p_alive"]
    assert alive["one_time_buyers"] > 1000 and alive["one_time_p_alive_1"] == 0
    # The most valuable customers lead, by expected value.
    top = report["top_customers"]
    assert len(top) == 10 and [t["clv"] for t in top] == sorted(
        (t["clv"] for t in top), reverse=True)
    assert all(t["user_id"] for t in top)


@pytest.mark.dataset
def test_cdnow_bgnbd_holds_every_one_time_buyer_alive_and_says_so(tmp_path: Path) -> None:
    url, folder = _cdnow_snapshot(tmp_path)
    report = json.loads(_cli(url, "predict", "clv", "--snapshot", str(folder),
                             "--calibration-end", "1997-09-30", "--no-write", "--json")[1])
    alive = report["p_alive"]
    assert alive["one_time_buyers"] == alive["one_time_p_alive_1"] > 1000
    assert "p_alive = 1" in alive["note"] and "mbg-nbd" in alive["note"]
    code, output = _cli(url, "predict", "clv", "--snapshot", str(folder),
                        "--calibration-end", "1997-09-30", "--model", "auto", "--json")
    assert code == 1 and "--holdout-end" in output
