"""Customer lifetime value: a purchase-count model and a spend model, on pymc-marketing.

Purchase counts follow BG/NBD (Fader, Hardie and Lee 2005), the modified BG/NBD (Batislam
et al. 2007) or Pareto/NBD (Schmittlein, Morrison and Colombo 1987); spend per purchase
follows Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV"). The likelihoods are
pymc-marketing's; they are fitted by MAP under flat priors, which is the maximum-likelihood
estimate the literature publishes (pymc-marketing's default priors pull BG/NBD's ``a`` and
``b`` on CDNOW from 0.79/2.43 to 0.71/2.09). ``fit_method="mcmc"`` samples the posterior
instead, for a full-Bayesian fit.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from tailored.errors import InvalidInput, NotFittedError
from tailored.extras import require

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MIN_CUSTOMERS", "MIN_REPEAT_CUSTOMERS", "MODELS", "LifetimeValue"]

#: The purchase-count models, by the name the CLI takes, with their parameter names.
MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bg-nbd": ("BetaGeoModel", ("r", "alpha", "a", "b")),
    "mbg-nbd": ("ModifiedBetaGeoModel", ("r", "alpha", "a", "b")),
    "pareto-nbd": ("ParetoNBDModel", ("r", "alpha", "s", "beta")),
}
_SPEND_PARAMS = ("p", "q", "v")
#: Fewer customers than this leave four parameters poorly determined.
MIN_CUSTOMERS = 50
#: Gamma-Gamma learns from customers with repeat purchases only.
MIN_REPEAT_CUSTOMERS = 20
_FIT_METHODS = ("map", "mcmc")


def _per_customer(out: Any) -> np.ndarray:
    """The posterior mean per customer (a MAP fit has one draw, sometimes squeezed away)."""
    dims = [d for d in ("chain", "draw") if d in out.dims]
    return np.asarray(out.mean(dims).values if dims else out.values, dtype=float)


def _quiet() -> None:
    # PyMC reports sampler and optimiser progress through logging; the CLI owns the terminal.
    for name in ("pymc", "pymc_marketing", "pytensor"):
        logging.getLogger(name).setLevel(logging.ERROR)


class LifetimeValue:
    """Expected purchases and lifetime value of each customer from their purchase history.

    Parameters
    ----------
    model : {"bg-nbd", "mbg-nbd", "pareto-nbd"}
        The purchase-count model.
    fit_method : {"map", "mcmc"}
        MAP under flat priors (the maximum-likelihood estimate, seconds) or posterior
        sampling under pymc-marketing's default priors (half-normal for Gamma-Gamma, whose
        defaults are flat), minutes; predictions use the posterior mean.
    spend : bool
        Also fit Gamma-Gamma for the value of a purchase, needed for :meth:`lifetime_value`.
    draws : int
        Posterior draws per chain with ``fit_method="mcmc"``.
    random_state : int
        Seed of the sampler.

    Attributes
    ----------
    params_ : dict
        The purchase-count model's parameters under their conventional names.
    spend_params_ : dict
        Gamma-Gamma's ``p``, ``q`` and ``v`` (empty without ``spend``).
    n_customers_, n_repeat_customers_ : int
        Customers fitted on, and those with a repeat purchase.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"customer_id": range(60), "frequency": [0, 1, 2, 5] * 15,
    ...                      "recency": [0, 5, 20, 30] * 15, "T": [40, 38, 35, 32] * 15,
    ...                      "monetary_value": [0, 20, 30, 25] * 15})
    >>> LifetimeValue(spend=False).fit(data).params_.keys()
    dict_keys(['r', 'alpha', 'a', 'b'])
    """

    def __init__(self, *, model: str = "bg-nbd", fit_method: str = "map", spend: bool = True,
                 draws: int = 500, random_state: int = 0) -> None:
        self.model = model
        self.fit_method = fit_method
        self.spend = spend
        self.draws = draws
        self.random_state = random_state

    def _check(self, summary: pd.DataFrame) -> pd.DataFrame:
        if self.model not in MODELS:
            raise InvalidInput(f"model must be one of {', '.join(MODELS)}, got {self.model!r}",
                               field="model")
        if self.fit_method not in _FIT_METHODS:
            raise InvalidInput(f"fit method must be map or mcmc, got {self.fit_method!r}",
                               field="fit_method")
        needed = {"customer_id", "frequency", "recency", "T"} | (
            {"monetary_value"} if self.spend else set())
        if missing := needed - set(summary.columns):
            raise InvalidInput(f"the summary has no column {', '.join(sorted(missing))}",
                               field="summary")
        if len(summary) < MIN_CUSTOMERS:
            raise InvalidInput(f"too few buyers to fit {self.model}: {len(summary)} customers "
                               f"bought in the calibration period, at least {MIN_CUSTOMERS} "
                               "are needed", field="calibration_end")
        repeat = int((summary["frequency"] > 0).sum())
        if repeat < MIN_REPEAT_CUSTOMERS:
            raise InvalidInput(f"too few repeat buyers to fit {self.model}: {repeat} customers "
                               f"bought again in the calibration period, at least "
                               f"{MIN_REPEAT_CUSTOMERS} are needed", field="calibration_end")
        return summary

    def _fit_one(self, model: Any) -> None:
        if self.fit_method == "map":
            model.fit(method="map", progressbar=False)
        else:
            model.fit(method="mcmc", draws=self.draws, tune=self.draws, chains=2, cores=1,
                      random_seed=self.random_state, progressbar=False)

    def fit(self, summary: pd.DataFrame) -> LifetimeValue:
        """Fit on a BTYD summary (see :func:`tailored.predict.purchases.rfm_summary`)."""
        Prior = require("pymc_extras.prior", "clv").Prior
        clv = require("pymc_marketing.clv", "clv")

        summary = self._check(summary)
        _quiet()
        class_name, names = MODELS[self.model]
        data = summary[["customer_id", "frequency", "recency", "T"]]
        # Flat priors make MAP the maximum-likelihood fit; a posterior needs proper ones, so
        # sampling keeps pymc-marketing's weakly informative defaults.
        map_fit = self.fit_method == "map"
        flat = {name: Prior("HalfFlat") for name in names} if map_fit else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counts = getattr(clv, class_name)(data=data, model_config=flat)
            self._fit_one(counts)
        self.model_ = counts
        self.params_ = self._means(counts, names)
        self.n_customers_ = len(summary)
        repeat = summary[summary["frequency"] > 0]
        self.n_repeat_customers_ = len(repeat)
        self.spend_params_: dict[str, float] = {}
        if self.spend:
            spend = repeat[["customer_id", "frequency", "monetary_value"]]
            if (spend["monetary_value"] <= 0).all():
                raise InvalidInput("no repeat purchase has a value: Gamma-Gamma needs order "
                                   "revenue", field="monetary_value")
            # Gamma-Gamma's likelihood is undefined at zero spend (free purchases).
            spend = spend[spend["monetary_value"] > 0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = clv.GammaGammaModel(data=spend, model_config=(
                    {n: Prior("HalfFlat") for n in _SPEND_PARAMS} if map_fit
                    else {n: Prior("HalfNormal", sigma=10) for n in _SPEND_PARAMS}))
                self._fit_one(model)
            self.spend_model_ = model
            self.spend_params_ = self._means(model, _SPEND_PARAMS)
        return self

    @staticmethod
    def _means(model: Any, names: tuple[str, ...]) -> dict[str, float]:
        posterior = model.idata.posterior
        return {n: float(posterior[n].mean()) for n in names}

    def _fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this LifetimeValue is not fitted yet: call fit first")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """Expected purchase days of each customer in the next ``t`` time units."""
        self._fitted()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model_.expected_purchases(
                summary[["customer_id", "frequency", "recency", "T"]], future_t=t)
        return _per_customer(out)

    def expected_purchases_new(self, summary: pd.DataFrame, t: np.ndarray) -> np.ndarray:
        """Expected repeat purchase days of a customer like these, ``t`` time units after
        their first purchase, knowing nothing else (one ``t`` per row of ``summary``)."""
        self._fitted()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model_.expected_purchases_new_customer(
                summary[["customer_id", "frequency", "recency", "T"]], t=np.asarray(t))
        return _per_customer(out)

    def probability_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """Probability that each customer is still a customer at the end of their history."""
        self._fitted()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model_.expected_probability_alive(
                summary[["customer_id", "frequency", "recency", "T"]])
        return _per_customer(out)

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected value of each customer's future purchases (Gamma-Gamma's conditional
        mean; the population mean for customers without a repeat purchase)."""
        self._fitted()
        if not self.spend:
            raise NotFittedError("fitted with spend=False: no spend model")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.spend_model_.expected_customer_spend(
                summary[["customer_id", "frequency", "monetary_value"]])
        return _per_customer(out)

    def lifetime_value(self, summary: pd.DataFrame, *, months: int = 12,
                       discount_rate: float = 0.01, time_unit: str = "weeks") -> np.ndarray:
        """Discounted value of each customer's purchases over the next ``months`` months.

        ``discount_rate`` is per month; ``time_unit`` is the unit the summary counts in.
        """
        customer_lifetime_value = require("pymc_marketing.clv", "clv").customer_lifetime_value

        self._fitted()
        if not self.spend:
            raise NotFittedError("fitted with spend=False: no spend model")
        if months < 1:
            raise InvalidInput(f"months must be at least 1, got {months}", field="months")
        spend = self.expected_spend(summary)
        data = summary[["customer_id", "frequency", "recency", "T"]].assign(
            future_spend=spend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = customer_lifetime_value(
                transaction_model=self.model_, data=data, future_t=months,
                discount_rate=discount_rate, time_unit="W" if time_unit == "weeks" else "D")
        return _per_customer(out)
