"""Statistics for A/B/n campaign tests with a holdout: who gets which arm, what a lift is
worth, whether the arms are the sizes they should be, and how many people a test needs.

Everything here is a plain function of counts or per-person values, so the campaign report
can call it on what the store sums up and put the answer in JSON as it is: an undefined
number (a lift over a control that never converted, a group of one) is ``None``, never NaN
or infinity, and nothing is rounded (the report rounds for display).
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats as st

from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import ArrayLike

__all__ = ["HOLDOUT", "SRM_ALPHA", "assign", "mean_lift", "proportion_lift", "sample_size",
           "srm_p_value", "thompson_weights"]

#: The arm of the people held out of a campaign (the control).
HOLDOUT = "holdout"
#: Alarm on a sample-ratio mismatch below this p-value: strict, as the check runs on every
#: report and a false alarm stops people trusting it.
SRM_ALPHA = 0.001


def assign(campaign: str, person: str, variants: Sequence[tuple[str, float]],
           holdout: float) -> str:
    """The arm of ``person`` in ``campaign``: ``"holdout"`` for a share ``holdout`` of
    people, else one of ``variants`` (name, weight) in proportion to its weight.

    A hash of (campaign, person) decides, so a person keeps their arm on every send without
    it being stored, and the arms of one campaign say nothing about those of another.
    """
    if not (0.0 <= holdout < 1.0):  # also refuses NaN
        raise InvalidInput(f"holdout must be in [0, 1), got {holdout!r}", field="holdout")
    if not variants:
        raise InvalidInput("at least one variant is needed", field="variants")
    names = [name for name, _ in variants]
    weights = [float(weight) for _, weight in variants]
    if not all(0.0 < w < math.inf for w in weights):
        raise InvalidInput(f"variant weights must be positive, got {weights}", field="variants")
    if len(set(names)) != len(names) or HOLDOUT in names:
        raise InvalidInput(f"variant names must be distinct and not {HOLDOUT!r}, got {names}",
                           field="variants")
    digest = hashlib.sha256(f"{campaign}\x1f{person}".encode()).digest()
    # The top 53 bits: exactly representable, so u is uniform on [0, 1) and never 1.0.
    u = (int.from_bytes(digest[:8], "big") >> 11) / 2.0**53
    if u < holdout:
        return HOLDOUT
    point = (u - holdout) / (1.0 - holdout) * sum(weights)
    cumulative = 0.0
    for name, weight in zip(names, weights, strict=True):
        cumulative += weight
        if point < cumulative:
            return name
    return names[-1]  # point within rounding of the total


def proportion_lift(conv_t: int, n_t: int, conv_c: int, n_c: int,
                    alpha: float = 0.05) -> dict[str, Any]:
    """Relative lift of the treatment's conversion rate over the control's:
    ``{"lift", "ci95", "p_value"}`` (``lift`` 0.12 is +12 %).

    ``ci95`` is the ``1 - alpha`` interval of the lift by the delta method on the log of the
    ratio of rates, exponentiated::

        exp(log(p_t / p_c) ± z_{1-alpha/2} * sqrt((1-p_t)/(n_t p_t) + (1-p_c)/(n_c p_c))) - 1

    ``p_value`` is two-sided, from the two-proportion z-test with pooled variance.

    Undefined parts are ``None``: everything for an empty arm; the lift and interval when the
    control rate is 0; the interval when the treatment rate is 0. The p-value tests the
    difference, so it stays defined when the lift is not (a control at 0 against a
    treatment that converts is evidence); when both rates are equal with no variance (both
    0 or both 1) it is 1.0, as nothing tells them apart.
    """
    _check_open("alpha", alpha)
    for field, conv, n in (("conv_t", conv_t, n_t), ("conv_c", conv_c, n_c)):
        if not 0 <= conv <= n:
            raise InvalidInput(f"conversions must be in [0, people], got {conv} of {n}",
                               field=field)
    if n_t == 0 or n_c == 0:
        return {"lift": None, "ci95": [None, None], "p_value": None}
    p_t, p_c = conv_t / n_t, conv_c / n_c
    pooled = (conv_t + conv_c) / (n_t + n_c)
    se0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_t + 1.0 / n_c))
    p_value = 1.0 if se0 == 0.0 else float(2.0 * st.norm.sf(abs(p_t - p_c) / se0))
    if p_c == 0.0:
        return {"lift": None, "ci95": [None, None], "p_value": p_value}
    ci: list[float | None] = [None, None]
    if p_t > 0.0:
        log_ratio = math.log(p_t / p_c)
        half = _z(alpha) * math.sqrt((1 - p_t) / (n_t * p_t) + (1 - p_c) / (n_c * p_c))
        ci = [_finite(math.exp(log_ratio - half) - 1.0),
              _finite(math.exp(log_ratio + half) - 1.0)]
    return {"lift": p_t / p_c - 1.0, "ci95": ci, "p_value": p_value}


def mean_lift(x_t: ArrayLike, x_c: ArrayLike, *, pre_t: ArrayLike | None = None,
              pre_c: ArrayLike | None = None, alpha: float = 0.05) -> dict[str, Any]:
    """Relative lift of the treatment's mean over the control's (revenue per person, zeros
    included): ``{"lift", "ci95", "p_value", "cuped", "variance_reduction"}``.

    With ``pre_t`` and ``pre_c`` (a pre-period value per person, in the same order) the
    values are CUPED-adjusted: ``y - theta * (x - mean(x))`` with ``theta = cov(y, x) /
    var(x)`` and the mean over both groups. The lift is then ``(mean(y_t adj) - mean(y_c
    adj)) / mean(y_c)`` (the adjusted means have the unadjusted ones' expectations, so the
    plain control mean stays the denominator), and ``variance_reduction`` is ``1 -
    var(y adj) / var(y)`` over both groups. A covariate (or outcome) without variance gives
    nothing to adjust by: then no CUPED (``cuped`` false).

    ``p_value`` is Welch's t-test of the (adjusted) values; ``ci95`` the ``1 - alpha``
    Fieller interval of that ratio (with the covariance of the adjusted and plain control
    means), using Welch's degrees of freedom: it holds 0 exactly when ``p_value >= alpha``;
    ``[None, None]`` when the control mean is too uncertain for a bounded interval. Fewer than two
    people in a group gives ``None`` throughout; a control mean of 0 leaves the p-value.
    """
    _check_open("alpha", alpha)
    y_t, y_c = _sample(x_t, "x_t"), _sample(x_c, "x_c")
    if (pre_t is None) != (pre_c is None):
        raise InvalidInput("pass both pre_t and pre_c, or neither",
                           field="pre_c" if pre_c is None else "pre_t")
    covariates = None if pre_t is None or pre_c is None else (
        _sample(pre_t, "pre_t", like=y_t), _sample(pre_c, "pre_c", like=y_c))
    out: dict[str, Any] = {"lift": None, "ci95": [None, None], "p_value": None,
                           "cuped": False, "variance_reduction": None}
    if len(y_t) < 2 or len(y_c) < 2:
        return out
    a_t, a_c = y_t, y_c
    if covariates is not None:
        cov_t, cov_c = covariates
        y, x = np.concatenate([y_t, y_c]), np.concatenate([cov_t, cov_c])
        var_x, var_y = float(np.var(x, ddof=1)), float(np.var(y, ddof=1))
        if var_x > 0.0 and var_y > 0.0:
            theta = float(np.cov(y, x, ddof=1)[0, 1]) / var_x
            centre = float(np.mean(x))
            a_t, a_c = y_t - theta * (cov_t - centre), y_c - theta * (cov_c - centre)
            out["cuped"] = True
            out["variance_reduction"] = (
                1.0 - float(np.var(np.concatenate([a_t, a_c]), ddof=1)) / var_y)
    n_t, n_c = len(a_t), len(a_c)
    v_t, v_c = float(np.var(a_t, ddof=1)), float(np.var(a_c, ddof=1))
    diff = float(np.mean(a_t) - np.mean(a_c))
    if v_t == 0.0 and v_c == 0.0:
        # Welch's t is undefined: constant groups either are the same or plainly differ.
        out["p_value"] = 1.0 if diff == 0.0 else 0.0
    else:
        out["p_value"] = _finite(float(st.ttest_ind(a_t, a_c, equal_var=False).pvalue))
    base = float(np.mean(y_c))
    if base == 0.0:
        return out
    lift = diff / base
    # Fieller's interval for the ratio L = d / m (d = mean(a_t) - mean(a_c), m = mean(y_c)):
    # every L with (d - L m)^2 <= t^2 Var(d - L m). At L = 0 that is Welch's test itself, so
    # the interval holds 0 exactly when the p-value is above alpha (the delta method's
    # linearisation disagreed with it in about one campaign in six, and went below -100 %).
    var_d = v_t / n_t + v_c / n_c
    var_m = float(np.var(y_c, ddof=1)) / n_c
    cov_dm = -float(np.cov(a_c, y_c, ddof=1)[0, 1]) / n_c
    a, b = v_t / n_t, v_c / n_c
    df = (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1)) if a + b > 0.0 else math.inf
    t2 = float(st.t.ppf(1.0 - alpha / 2.0, df)) ** 2
    qa = base**2 - t2 * var_m
    qb = -2.0 * (diff * base - t2 * cov_dm)
    qc = diff**2 - t2 * var_d
    ci: list[float | None] = [None, None]
    disc = qb**2 - 4.0 * qa * qc
    if qa > 0.0 and disc >= 0.0:  # else the control mean is too uncertain: unbounded
        root = math.sqrt(disc)
        low, high = (-qb - root) / (2.0 * qa), (-qb + root) / (2.0 * qa)
        if (y_t >= 0).all() and (y_c >= 0).all():
            low = max(low, -1.0)  # revenue cannot fall by more than all of it
        ci = [_finite(low), _finite(high)]
    out.update(lift=_finite(lift), ci95=ci)
    return out


def srm_p_value(observed: Mapping[str, int], expected_shares: Mapping[str, float]
                ) -> float | None:
    """P-value of a sample-ratio mismatch: a chi-square test of the people counted in each
    arm against the shares the design gave them (normalised). Below :data:`SRM_ALPHA` the
    assignment or the counting is broken and the lifts are not to be trusted. ``None`` with
    fewer than two arms or nobody counted."""
    if set(observed) != set(expected_shares):
        raise InvalidInput(f"observed arms {sorted(observed)} are not the designed arms "
                           f"{sorted(expected_shares)}", field="expected_shares")
    arms = sorted(observed)
    counts = np.array([observed[arm] for arm in arms], dtype=float)
    shares = np.array([expected_shares[arm] for arm in arms], dtype=float)
    if (counts < 0).any():
        raise InvalidInput("counts must not be negative", field="observed")
    if not np.isfinite(shares).all() or (shares <= 0).any():
        raise InvalidInput("expected shares must be positive", field="expected_shares")
    total = counts.sum()
    if len(arms) < 2 or total == 0:
        return None
    return float(st.chisquare(counts, total * shares / shares.sum()).pvalue)


def sample_size(baseline_rate: float, min_lift: float, *, alpha: float = 0.05,
                power: float = 0.8, holdout_share: float = 0.5) -> dict[str, int]:
    """People needed to detect a relative lift ``min_lift`` on a conversion rate
    ``baseline_rate`` with a two-sided two-proportion z-test: ``{"per_variant", "holdout",
    "total"}``, the holdout getting ``holdout_share`` of the people in the comparison.

    With ``k = n_c / n_t = holdout_share / (1 - holdout_share)``, ``p_c`` the baseline,
    ``p_t = p_c (1 + min_lift)`` and ``pbar = (p_t + k p_c) / (1 + k)``::

        n_t = (z_{1-alpha/2} sqrt(pbar qbar (1 + 1/k)) + z_{power} sqrt(p_t q_t + p_c q_c / k))^2
              / (p_t - p_c)^2,    n_c = k n_t,    each rounded up.

    For several variants each compared with the holdout, pass the holdout's share of the
    holdout and one variant together.
    """
    _check_open("baseline_rate", baseline_rate)
    if not (math.isfinite(min_lift) and min_lift != 0.0):
        raise InvalidInput(f"min_lift must be a nonzero number, got {min_lift!r}",
                           field="min_lift")
    p_c, p_t = baseline_rate, baseline_rate * (1.0 + min_lift)
    if not 0.0 < p_t < 1.0:
        raise InvalidInput(f"a lift of {min_lift} takes the rate {baseline_rate} to {p_t}, "
                           "outside (0, 1)", field="min_lift")
    _check_open("alpha", alpha)
    _check_open("power", power)
    _check_open("holdout_share", holdout_share)
    k = holdout_share / (1.0 - holdout_share)
    p_bar = (p_t + k * p_c) / (1.0 + k)
    root = (_z(alpha) * math.sqrt(p_bar * (1 - p_bar) * (1 + 1 / k))
            + float(st.norm.ppf(power)) * math.sqrt(p_t * (1 - p_t) + p_c * (1 - p_c) / k))
    n_t = max(root, 0.0) ** 2 / (p_t - p_c) ** 2
    # A hair under an integer is that integer: floating error must not cost a person.
    per_variant = max(math.ceil(n_t - 1e-9), 1)
    holdout = max(math.ceil(k * n_t - 1e-9), 1)
    return {"per_variant": per_variant, "holdout": holdout, "total": per_variant + holdout}


def thompson_weights(stats: Mapping[str, tuple[int, int]], *, draws: int = 10000,
                     seed: int | None = None) -> dict[str, float]:
    """Shares of the next sends by Thompson sampling: for each variant's (conversions,
    people), the share of ``draws`` joint draws from the Beta(1 + conversions, 1 + people -
    conversions) posteriors in which that variant's rate is the highest. The shares sum
    to 1; a ``seed`` makes them repeatable."""
    if not stats:
        raise InvalidInput("no variants to weigh", field="stats")
    if draws < 1:
        raise InvalidInput(f"draws must be at least 1, got {draws}", field="draws")
    names = list(stats)
    conv = np.array([stats[name][0] for name in names], dtype=float)
    people = np.array([stats[name][1] for name in names], dtype=float)
    if (conv < 0).any() or (conv > people).any():
        raise InvalidInput("conversions must be in [0, people] for every variant",
                           field="stats")
    rng = np.random.default_rng(seed)
    samples = rng.beta(1.0 + conv, 1.0 + people - conv, size=(draws, len(names)))
    wins = np.bincount(samples.argmax(axis=1), minlength=len(names))
    return {name: float(w) / draws for name, w in zip(names, wins, strict=True)}


def _z(alpha: float) -> float:
    return float(st.norm.ppf(1.0 - alpha / 2.0))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _check_open(field: str, value: float) -> None:
    if not 0.0 < value < 1.0:  # also refuses NaN
        raise InvalidInput(f"{field} must be in (0, 1), got {value!r}", field=field)


def _sample(values: ArrayLike, field: str, like: np.ndarray | None = None) -> np.ndarray:
    """One value per person as a 1-d float array, finite, as long as ``like`` if given."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be numbers", field=field) from None
    if array.ndim != 1:
        raise InvalidInput(f"{field} must be one value per person (1-d)", field=field)
    if not np.isfinite(array).all():
        raise InvalidInput(f"{field} holds NaN or infinite values", field=field)
    if like is not None and len(array) != len(like):
        raise InvalidInput(f"{field} has {len(array)} values for {len(like)} people",
                           field=field)
    return array
