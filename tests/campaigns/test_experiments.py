"""Campaign experiment statistics: assignment by hash keeps its shares and is independent
across campaigns; the tests hold their false-positive rate in A/A simulations and their power
at the size sample_size asks for; CUPED narrows without biasing; undefined numbers are None,
so every answer goes into strict JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from tailored.campaigns.experiments import (
    SRM_ALPHA,
    assign,
    mean_lift,
    proportion_lift,
    sample_size,
    srm_p_value,
    thompson_weights,
)
from tailored.errors import InvalidInput

PEOPLE = [f"person-{i}" for i in range(20_000)]


def _strict_json(result: dict[str, Any]) -> None:
    json.dumps(result, allow_nan=False)


def _revenue(rng: np.random.Generator, shape: tuple[int, ...], lift: float = 0.0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Skewed spend with many zeros, and a pre-period spend of the same people that it
    follows (a person's level times noise, each period with its own non-buyers)."""
    level = rng.lognormal(3.0, 1.0, size=shape)
    pre = level * rng.lognormal(0.0, 0.4, size=shape) * (rng.random(shape) < 0.9)
    post = level * rng.lognormal(0.0, 0.4, size=shape) * (rng.random(shape) < 0.9)
    return post * (1.0 + lift), pre


def test_assign_is_deterministic_and_keeps_the_holdout_share() -> None:
    variants = [("a", 1.0)]
    arms = [assign("spring", p, variants, 0.3) for p in PEOPLE]
    assert arms == [assign("spring", p, variants, 0.3) for p in PEOPLE]
    assert set(arms) == {"holdout", "a"}
    assert arms.count("holdout") / len(PEOPLE) == pytest.approx(0.3, abs=0.015)


def test_assign_splits_the_rest_by_variant_weight() -> None:
    # Weights are normalised: 1:3 of the 80 % outside the holdout is 20 % and 60 %.
    arms = [assign("spring", p, [("a", 1.0), ("b", 3.0)], 0.2) for p in PEOPLE]
    shares = {arm: arms.count(arm) / len(PEOPLE) for arm in ("holdout", "a", "b")}
    assert shares == pytest.approx({"holdout": 0.2, "a": 0.2, "b": 0.6}, abs=0.015)
    assert {assign("spring", p, [("only", 5.0)], 0.0) for p in PEOPLE[:500]} == {"only"}


def test_assign_is_independent_across_campaigns() -> None:
    in_spring = np.array([assign("spring", p, [("a", 1)], 0.5) == "holdout" for p in PEOPLE])
    in_summer = np.array([assign("summer", p, [("a", 1)], 0.5) == "holdout" for p in PEOPLE])
    # Independent: r has a standard error of 1/sqrt(20,000) = 0.007.
    assert abs(np.corrcoef(in_spring, in_summer)[0, 1]) < 0.03
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert [assign("ab", f"c{i}", [("a", 1)], 0.5) for i in range(200)] != [
        assign("a", f"bc{i}", [("a", 1)], 0.5) for i in range(200)]


@pytest.mark.parametrize(("holdout", "variants", "field"), [
    (-0.1, [("a", 1.0)], "holdout"), (1.0, [("a", 1.0)], "holdout"),
    (math.nan, [("a", 1.0)], "holdout"), (0.1, [], "variants"),
    (0.1, [("a", 0.0)], "variants"), (0.1, [("a", -1.0)], "variants"),
    (0.1, [("a", 1.0), ("a", 2.0)], "variants"), (0.1, [("holdout", 1.0)], "variants")])
def test_assign_refuses_bad_input_naming_the_field(holdout: float,
                                                   variants: list[tuple[str, float]],
                                                   field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        assign("spring", "ann", variants, holdout)
    assert caught.value.field == field


def test_proportion_lift_matches_a_hand_computation() -> None:
    got = proportion_lift(120, 1000, 100, 1000)
    # 12 % against 10 %: +20 %. Pooled rate 0.11 for the z-test.
    z = 0.02 / math.sqrt(0.11 * 0.89 * (2 / 1000))
    se_log = math.sqrt(0.88 / 120 + 0.90 / 100)
    z95 = 1.959963984540054
    assert got["lift"] == pytest.approx(0.2)
    assert got["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert got["p_value"] == pytest.approx(0.15292, abs=1e-5)
    assert got["ci95"] == pytest.approx([1.2 * math.exp(-z95 * se_log) - 1,
                                         1.2 * math.exp(z95 * se_log) - 1])
    assert got["ci95"] == pytest.approx([-0.06589, 0.54158], abs=1e-5)
    # A wider interval at a stricter alpha, same lift and p-value.
    strict = proportion_lift(120, 1000, 100, 1000, alpha=0.01)
    assert strict["ci95"][0] < got["ci95"][0] and strict["ci95"][1] > got["ci95"][1]
    assert strict["p_value"] == got["p_value"]


def test_proportion_lift_interval_covers_the_true_lift() -> None:
    rng = np.random.default_rng(7)
    conv_t = rng.binomial(2000, 0.06, size=500)
    conv_c = rng.binomial(2000, 0.05, size=500)
    covered = []
    for t, c in zip(conv_t, conv_c, strict=True):
        low, high = proportion_lift(int(t), 2000, int(c), 2000)["ci95"]
        covered.append(low <= 0.2 <= high)
    assert 0.92 <= np.mean(covered) <= 0.98


@pytest.mark.parametrize(("args", "lift", "ci", "p_value"), [
    ((0, 0, 0, 0), None, [None, None], None),          # nobody in either arm
    ((3, 10, 0, 0), None, [None, None], None),          # an empty control
    ((0, 10, 0, 10), None, [None, None], 1.0),          # nobody converted: no difference
    ((5, 10, 0, 10), None, [None, None], "defined"),    # control at 0: no lift, a test
    ((0, 10, 5, 10), -1.0, [None, None], "defined"),    # treatment at 0: no log interval
    ((10, 10, 10, 10), 0.0, [0.0, 0.0], 1.0),           # everyone converted in both
    ((10, 10, 5, 10), 1.0, "defined", "defined"),       # a treatment rate of 1
])
def test_proportion_lift_edge_cases_are_none_not_nan(args: tuple[int, int, int, int],
                                                     lift: Any, ci: Any, p_value: Any) -> None:
    got = proportion_lift(*args)
    _strict_json(got)
    assert got["lift"] == lift
    if ci == "defined":
        assert all(isinstance(v, float) and math.isfinite(v) for v in got["ci95"])
    else:
        assert got["ci95"] == ci
    if p_value == "defined":
        assert 0.0 < got["p_value"] < 0.05
    else:
        assert got["p_value"] == p_value


def test_proportion_lift_refuses_more_conversions_than_people() -> None:
    with pytest.raises(InvalidInput) as caught:
        proportion_lift(11, 10, 1, 10)
    assert caught.value.field == "conv_t"
    with pytest.raises(InvalidInput) as caught:
        proportion_lift(1, 10, 1, 10, alpha=1.5)
    assert caught.value.field == "alpha"


def test_proportion_lift_holds_its_false_positive_rate_in_aa_tests() -> None:
    rng = np.random.default_rng(11)
    conv = rng.binomial(2000, 0.05, size=(1000, 2))
    p_values = [proportion_lift(int(t), 2000, int(c), 2000)["p_value"] for t, c in conv]
    assert 0.03 <= np.mean(np.array(p_values) < 0.05) <= 0.07


def test_mean_lift_matches_a_hand_computation() -> None:
    got = mean_lift([1, 2, 3, 4], [1, 1, 2, 2])
    # Means 2.5 and 1.5; Welch: variances 5/3 and 1/3 over 4 people each.
    a, b = (5 / 3) / 4, (1 / 3) / 4
    df = (a + b) ** 2 / (a**2 / 3 + b**2 / 3)
    assert got["lift"] == pytest.approx(2 / 3)
    assert got["p_value"] == pytest.approx(2 * stats.t.sf(1.0 / math.sqrt(a + b), df))
    # Fieller for L = d / m, d = 1.0, m = 1.5: (d - L m)^2 <= t^2 (Var d - 2 L Cov + L^2
    # Var m) with Var d = a + b, Var m = b, Cov(d, m) = -b (the control is both).
    t2 = stats.t.ppf(0.975, df) ** 2
    qa, qb, qc = 1.5**2 - t2 * b, -2 * (1.0 * 1.5 + t2 * b), 1.0 - t2 * (a + b)
    root = math.sqrt(qb**2 - 4 * qa * qc)
    assert got["ci95"] == pytest.approx([max((-qb - root) / (2 * qa), -1.0),
                                         (-qb + root) / (2 * qa)])
    assert got["cuped"] is False and got["variance_reduction"] is None


@pytest.mark.parametrize(("x_t", "x_c", "lift", "p_value"), [
    ([5.0], [1.0, 2.0], None, None),                 # a group of one
    ([], [], None, None),                            # nobody
    ([0.0, 0.0, 0.0], [0.0, 0.0], None, 1.0),        # nobody bought anything
    ([1.0, 3.0], [0.0, 0.0], None, "defined"),       # control mean 0: no lift
    ([2.0, 2.0], [1.0, 1.0], 1.0, 0.0),              # constant groups that differ
])
def test_mean_lift_edge_cases_are_none_not_nan(x_t: list[float], x_c: list[float],
                                               lift: Any, p_value: Any) -> None:
    got = mean_lift(x_t, x_c)
    _strict_json(got)
    assert got["lift"] == lift
    if p_value == "defined":
        assert 0.0 < got["p_value"] < 1.0
    else:
        assert got["p_value"] == p_value


def test_mean_lift_without_covariate_variance_falls_back_to_no_cuped() -> None:
    rng = np.random.default_rng(3)
    y_t, y_c = rng.normal(10, 2, 200), rng.normal(10, 2, 200)
    plain = mean_lift(y_t, y_c)
    flat = mean_lift(y_t, y_c, pre_t=np.ones(200), pre_c=np.ones(200))
    assert flat == plain and flat["cuped"] is False


def test_mean_lift_refuses_mismatched_covariates() -> None:
    with pytest.raises(InvalidInput) as caught:
        mean_lift([1, 2, 3], [1, 2], pre_t=[1, 2], pre_c=[1, 2])
    assert caught.value.field == "pre_t"
    with pytest.raises(InvalidInput) as caught:
        mean_lift([1, 2, 3], [1, 2], pre_t=[1, 2, 3])
    assert caught.value.field == "pre_c"
    with pytest.raises(InvalidInput) as caught:
        mean_lift([1, math.nan], [1, 2])
    assert caught.value.field == "x_t"


def test_mean_lift_with_cuped_holds_its_false_positive_rate_in_aa_tests() -> None:
    rng = np.random.default_rng(5)
    y_t, pre_t = _revenue(rng, (1000, 2000))
    y_c, pre_c = _revenue(rng, (1000, 2000))
    results = [mean_lift(y_t[i], y_c[i], pre_t=pre_t[i], pre_c=pre_c[i]) for i in range(1000)]
    assert all(r["cuped"] for r in results)
    assert 0.03 <= np.mean([r["p_value"] < 0.05 for r in results]) <= 0.07
    # Correlated pre-period spend removes a good part of the variance.
    assert np.mean([r["variance_reduction"] for r in results]) > 0.3


def test_cuped_narrows_the_interval_without_biasing_the_lift() -> None:
    rng = np.random.default_rng(9)
    y_t, pre_t = _revenue(rng, (200, 2000), lift=0.1)
    y_c, pre_c = _revenue(rng, (200, 2000))
    plain = [mean_lift(y_t[i], y_c[i]) for i in range(200)]
    cuped = [mean_lift(y_t[i], y_c[i], pre_t=pre_t[i], pre_c=pre_c[i]) for i in range(200)]

    def width(r: dict[str, Any]) -> float:
        return float(r["ci95"][1] - r["ci95"][0])

    assert all(width(c) < width(p) for c, p in zip(cuped, plain, strict=True))
    assert np.mean([r["variance_reduction"] for r in cuped]) > 0.3
    # Both estimate the true +10 % (each estimate's standard error is about 0.04).
    assert np.mean([r["lift"] for r in cuped]) == pytest.approx(0.1, abs=0.01)
    assert np.mean([r["lift"] for r in plain]) == pytest.approx(0.1, abs=0.015)
    # and CUPED's scatter around it is smaller.
    assert np.std([r["lift"] for r in cuped]) < 0.85 * np.std([r["lift"] for r in plain])
    for r in cuped[:5]:
        _strict_json(r)


def test_sample_size_matches_the_textbook_case() -> None:
    # 10 % to 12 %, alpha 5 %, power 80 %, equal arms: the classic 3,841 per arm.
    assert sample_size(0.1, 0.2) == {"per_variant": 3841, "holdout": 3841, "total": 7682}
    small_holdout = sample_size(0.1, 0.2, holdout_share=0.2)
    assert small_holdout["holdout"] == math.ceil(small_holdout["per_variant"] / 4)
    assert small_holdout["total"] > 7682  # unequal arms cost people


@pytest.mark.parametrize("holdout_share", [0.5, 0.2])
def test_sample_size_gives_the_power_it_promises(holdout_share: float) -> None:
    size = sample_size(0.05, 0.25, holdout_share=holdout_share)
    rng = np.random.default_rng(13)
    conv_t = rng.binomial(size["per_variant"], 0.05 * 1.25, size=300)
    conv_c = rng.binomial(size["holdout"], 0.05, size=300)
    detected = [proportion_lift(int(t), size["per_variant"], int(c), size["holdout"])
                ["p_value"] < 0.05 for t, c in zip(conv_t, conv_c, strict=True)]
    assert 0.7 <= np.mean(detected) <= 0.9


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"baseline_rate": 0.0, "min_lift": 0.1}, "baseline_rate"),
    ({"baseline_rate": 1.0, "min_lift": 0.1}, "baseline_rate"),
    ({"baseline_rate": 0.1, "min_lift": 0.0}, "min_lift"),
    ({"baseline_rate": 0.6, "min_lift": 1.0}, "min_lift"),
    ({"baseline_rate": 0.1, "min_lift": -1.0}, "min_lift"),
    ({"baseline_rate": 0.1, "min_lift": 0.1, "alpha": 0.0}, "alpha"),
    ({"baseline_rate": 0.1, "min_lift": 0.1, "power": 1.0}, "power"),
    ({"baseline_rate": 0.1, "min_lift": 0.1, "holdout_share": 0.0}, "holdout_share"),
    ({"baseline_rate": 0.1, "min_lift": 0.1, "holdout_share": 1.0}, "holdout_share"),
])
def test_sample_size_refuses_bad_input_naming_the_field(kwargs: dict[str, float],
                                                        field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        sample_size(**kwargs)
    assert caught.value.field == field


def test_srm_passes_balanced_arms_and_alarms_on_a_mismatch() -> None:
    design = {"holdout": 0.5, "email": 0.5}
    assert srm_p_value({"holdout": 5000, "email": 5030}, design) > 0.5
    assert srm_p_value({"holdout": 5000, "email": 5400}, design) < SRM_ALPHA
    # Shares are normalised: weights 1:3 work as 25 %/75 %.
    assert srm_p_value({"holdout": 2500, "a": 7500}, {"holdout": 1, "a": 3}) == pytest.approx(1)
    assert srm_p_value({"holdout": 0, "email": 0}, design) is None
    assert srm_p_value({"email": 10}, {"email": 1.0}) is None
    with pytest.raises(InvalidInput) as caught:
        srm_p_value({"holdout": 5, "sms": 5}, design)
    assert caught.value.field == "expected_shares"


def test_thompson_weights_favour_the_better_arm() -> None:
    arms = {"a": (50, 1000), "b": (80, 1000), "c": (52, 1000)}
    weights = thompson_weights(arms, seed=1)
    assert set(weights) == set(arms)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["b"] > 0.95
    assert weights == thompson_weights(arms, seed=1)
    # Arms alike share the sends about evenly.
    even = thompson_weights({"a": (50, 1000), "b": (50, 1000)}, seed=2)
    assert even["a"] == pytest.approx(0.5, abs=0.03)
    with pytest.raises(InvalidInput) as caught:
        thompson_weights({"a": (5, 3)})
    assert caught.value.field == "stats"


def test_mean_lift_interval_agrees_with_its_p_value() -> None:
    """Fieller's interval holds 0 exactly when Welch's test does not reject."""
    rng = np.random.default_rng(11)
    disagree = 0
    for _ in range(400):
        n = int(rng.integers(30, 400))
        t = rng.exponential(10, n) * (rng.random(n) < 0.1) * rng.uniform(0.5, 2.5)
        c = rng.exponential(10, n) * (rng.random(n) < 0.1)
        out = mean_lift(t, c)
        low, high = out["ci95"]
        if out["p_value"] is None or low is None or high is None:
            continue
        assert low >= -1.0  # revenue cannot fall by more than all of it
        disagree += (low <= 0.0 <= high) != (out["p_value"] >= 0.05)
    assert disagree == 0
