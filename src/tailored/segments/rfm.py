"""RFM: recency, frequency and monetary quintile scores, and the named groups marketers use.

Each buyer (a customer with at least one order before ``as_of``; customers are identified
people unless ``include_anonymous``, see :mod:`tailored.analytics.customers`) gets three
scores from 1 to 5:

* **R** from the days since their latest order (fewer days → higher score),
* **F** from their number of distinct orders,
* **M** from the total value of their orders.

A score is the quintile of the customer's rank: ``score = floor(5 · rank / n) + 1`` where
``rank`` is the number of buyers strictly worse on that measure (SQL ``RANK() - 1``).
**Ties share one score** — the lowest their tied block reaches — so equal customers are never
split between scores by row order. The price is that a large tied block skips scores: when
40% of buyers ordered once, they all get F = 1 and the next buyers start at F = 3. Scores are
computed by the engine (Ibis window functions), the same on DuckDB and PostgreSQL; money is
rounded to cents and recency to 1/10,000 of a day first, so float sums cannot break ties
differently on the two engines.

Groups come from R and FM = the mean of F and M, rounded half up, through :data:`RFM_GRID`:
the classic 5 × 5 R × FM segment map (Putler, "RFM Analysis For Successful Customer
Segmentation"; the same cells as the R × F map used with Hebbali's R package ``rfm``), with its
"About to Sleep" cells (R 3, FM 1–2) merged into Need Attention and its lowest-recency
Hibernating cells (R 1, FM 1–2) named Lost — which gives exactly the ten groups below, every
cell named once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from tailored.analytics.customers import Customers, keep_customers
from tailored.analytics.features import customer_features, resolve_as_of
from tailored.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tailored.analytics.source import Source

__all__ = ["RFM_GRID", "RFM_GROUPS", "RFMResult", "compute_rfm", "rfm_group", "rfm_scores"]

RFM_GROUPS = ("Champions", "Loyal", "Potential Loyalist", "New", "Promising", "Need Attention",
              "At Risk", "Can't Lose Them", "Hibernating", "Lost")

#: ``RFM_GRID[r - 1][fm - 1]`` is the group of a customer with scores R and FM.
RFM_GRID: tuple[tuple[str, ...], ...] = (
    # FM:  1              2                     3                     4            5
    ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),                      # R 1
    ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),        # R 2
    ("Need Attention", "Need Attention", "Need Attention", "Loyal", "Loyal"),       # R 3
    ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"),    # R 4
    ("New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),  # R 5
)
_BINS = 5


def rfm_group(r: int, fm: int) -> str:
    """The named group of scores R and FM (each 1–5)."""
    if not (1 <= r <= _BINS and 1 <= fm <= _BINS):
        raise InvalidInput(f"RFM scores run from 1 to 5, got R={r}, FM={fm}", field="score")
    return RFM_GRID[r - 1][fm - 1]


def _score(value: ir.NumericColumn, n: ir.IntegerScalar, *, higher_is_better: bool
           ) -> ir.IntegerValue:
    """Quintile score 1–5 by rank, ties sharing the lowest score of their block."""
    order = value if higher_is_better else ibis.desc(value)
    rank = ibis.rank().over(order_by=order)  # 0-based, ties share the lowest
    return ((rank * _BINS) // n + 1).cast("int64")


def rfm_scores(source: Source, *, as_of: datetime | None = None,
               include_anonymous: bool = False) -> tuple[ir.Table, Customers]:
    """Per buyer: ``profile_id``, ``recency_days``, ``frequency``, ``monetary`` and the scores
    ``r_score``, ``f_score``, ``m_score`` (1–5), as one Ibis expression; and how many
    anonymous buyers the customer rule left out."""
    features = customer_features(source, as_of=as_of)
    return _scores(source, features.filter(features.orders > 0), include_anonymous)


def _scores(source: Source, everyone: ir.Table, include_anonymous: bool
            ) -> tuple[ir.Table, Customers]:
    buyers, customers = keep_customers(source, everyone, include_anonymous=include_anonymous)
    base = buyers.select(
        profile_id=buyers.profile_id,
        recency_days=buyers.order_recency_days.round(4),
        frequency=buyers.orders,
        monetary=buyers.revenue.round(2),
    )
    n = base.count().as_scalar()
    return base.mutate(
        r_score=_score(base.recency_days, n, higher_is_better=False),
        f_score=_score(base.frequency, n, higher_is_better=True),
        m_score=_score(base.monetary, n, higher_is_better=True),
    ), customers


@dataclass
class RFMResult:
    """Scores and groups of every buyer, with the score thresholds actually found."""

    customers: pd.DataFrame  # profile_id, recency_days, frequency, monetary, scores, group
    as_of: datetime
    thresholds: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    population: Customers = field(default_factory=Customers)

    @property
    def groups(self) -> dict[str, int]:
        """Customers per group, every group named (0 where empty), in :data:`RFM_GROUPS` order."""
        counts = self.customers["group"].value_counts()
        return {g: int(counts.get(g, 0)) for g in RFM_GROUPS}

    def members(self) -> dict[str, list[str]]:
        """The profile ids of each group."""
        by = self.customers.groupby("group")["profile_id"].apply(list)
        return {g: sorted(by.get(g, [])) for g in RFM_GROUPS}

    def summary(self) -> dict[str, Any]:
        """What ``tailored segment rfm --json`` reports (less the timing)."""
        df = self.customers
        means = df.groupby("group")[["recency_days", "frequency", "monetary"]].mean()
        return {
            "customers": len(df),
            "groups": self.groups,
            "as_of": self.as_of.isoformat(),
            "thresholds": self.thresholds,
            "group_means": {g: {k: round(float(v), 2) for k, v in means.loc[g].items()}
                            for g in RFM_GROUPS if g in means.index},
            **self.population.report(),
        }


def _thresholds(df: pd.DataFrame) -> dict[str, list[dict[str, float]]]:
    """For each measure, the range of values each score holds (scores with no one left out)."""
    out: dict[str, list[dict[str, float]]] = {}
    for measure, score in (("recency_days", "r_score"), ("frequency", "f_score"),
                           ("monetary", "m_score")):
        ranges = df.groupby(score)[measure].agg(["min", "max", "size"])
        out[measure] = [{"score": int(s), "min": round(float(row["min"]), 4),
                         "max": round(float(row["max"]), 4), "customers": int(row["size"])}
                        for s, row in ranges.iterrows()]
    return out


def compute_rfm(source: Source, *, as_of: datetime | None = None,
                include_anonymous: bool = False) -> RFMResult:
    """Score every buyer and name their group; :class:`InvalidInput` when nobody bought."""
    when, _ = resolve_as_of(source, as_of)
    # The buyers' metrics once, in a temporary table: the count of those left out and the
    # scores both read them.
    features = customer_features(source, as_of=as_of)
    name, buyers = source.temporary_table(features.filter(features.orders > 0),
                                          "tailored_rfm_buyers")
    try:
        scores, population = _scores(source, buyers, include_anonymous)
        df = scores.execute()
    finally:
        source.drop_temporary(name)
    if df.empty:
        who = "customer" if include_anonymous else (
            "identified customer (a user id or an e-mail)")
        left = (f"; {population.excluded:,} anonymous buyers were left out "
                "(--include-anonymous takes them)" if population.excluded else "")
        raise InvalidInput(
            f"RFM needs orders, and no {who} has one before {when.isoformat()}{left}: orders "
            "are 'Order Completed' events, with or without products, worth their revenue, "
            "total or value (import sales with `tailored import online-retail` or send "
            "Order Completed events)", field="orders")
    fm = np.floor((df["f_score"].to_numpy() + df["m_score"].to_numpy()) / 2 + 0.5).astype(int)
    grid = np.array(RFM_GRID, dtype=object)
    df["fm_score"] = fm
    df["group"] = grid[df["r_score"].to_numpy() - 1, fm - 1]
    df = df.sort_values("profile_id", ignore_index=True)
    return RFMResult(customers=df, as_of=when, thresholds=_thresholds(df),
                     population=population)
