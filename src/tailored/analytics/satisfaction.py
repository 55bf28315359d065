"""How satisfied customers are: NPS and CSAT from survey answers, and average ratings.

Survey answers are ``Survey Answered`` track events. Accepted properties:

* ``survey`` (or ``survey_type``): ``"nps"`` or ``"csat"``, any case — which scale it is;
* ``score`` (or ``value``): the answer, a number — 0 to 10 for NPS, 1 to 5 for CSAT; an
  answer outside its scale, or not a number, is not counted.

(``question`` and ``survey_id`` are kept in the events but not needed.) Each answer counts
once, so a person who answers twice counts twice, as survey tools report it.

* **NPS** = % promoters (9–10) − % detractors (0–6), from −100 to 100.
* **CSAT** = % of answers that are 4 or 5.
* **Rating**: the mean of ``Product Rated`` / ``Product Reviewed`` ratings.

Each can be broken down by a group (``by``: a trait, or ``"segment"`` for stored segments)
and over time (``period``: day, week or month).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tailored.analytics.checks import require_events
from tailored.analytics.groups import profile_groups
from tailored.analytics.periods import check_period, period_start
from tailored.analytics.source import Source, trait
from tailored.events.names import EventName, Signal

__all__ = ["SURVEY_KINDS", "csat", "nps", "ratings", "survey_answers"]

SURVEY_KINDS = ("nps", "csat")
_NUMBER = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"
ALL = "all"


def survey_answers(source: Source) -> ir.Table:
    """Every survey answer: ``profile_id``, ``timestamp``, ``kind`` (lower case) and
    ``score`` (NULL when it is not a number)."""
    e = source.events
    e = e.filter(e.type == "track", e.event == EventName.SURVEY_ANSWERED.value)
    kind = ibis.coalesce(trait(source, e.properties, "survey"),
                         trait(source, e.properties, "survey_type")).lower().strip()
    raw = ibis.coalesce(trait(source, e.properties, "score"),
                        trait(source, e.properties, "value"))
    score = ibis.cases((raw.re_search(_NUMBER), raw.strip().cast("float64")))
    return e.select("profile_id", "timestamp", kind=kind, score=score)


def _grouped(source: Source, rows: ir.Table, by: str | None, period: str | None
             ) -> tuple[ir.Table, list[str]]:
    """``rows`` with a ``group`` column (and ``period``), and the keys to group by."""
    if period is not None:
        check_period(period)
    if by is None:
        rows = rows.mutate(group=ibis.literal(ALL, "string"))
    else:
        groups = profile_groups(source, by)
        rows = rows.inner_join(groups, "profile_id")
    keys = ["group"]
    if period is not None:
        rows = rows.mutate(period=period_start(rows.timestamp, period).date().cast("string"))
        keys.append("period")
    return rows, keys


def nps(source: Source, *, by: str | None = None, period: str | None = None) -> ir.Table:
    """Per group (and period): ``answers``, ``promoters``, ``passives``, ``detractors``,
    ``nps``."""
    require_events(source)
    a = survey_answers(source)
    a = a.filter(a.kind == "nps", a.score >= 0, a.score <= 10)
    a, keys = _grouped(source, a, by, period)
    g = a.group_by(keys).agg(
        answers=a.count(), promoters=(a.score >= 9).sum().cast("int64"),
        detractors=(a.score <= 6).sum().cast("int64"))
    return g.select(
        *keys, "answers", "promoters", passives=g.answers - g.promoters - g.detractors,
        detractors=g.detractors,
        nps=100.0 * (g.promoters - g.detractors).cast("float64") / g.answers,
    ).order_by(keys)


def csat(source: Source, *, by: str | None = None, period: str | None = None) -> ir.Table:
    """Per group (and period): ``answers``, ``satisfied`` (4 or 5), ``csat`` (% satisfied)
    and ``mean_score``."""
    require_events(source)
    a = survey_answers(source)
    a = a.filter(a.kind == "csat", a.score >= 1, a.score <= 5)
    a, keys = _grouped(source, a, by, period)
    g = a.group_by(keys).agg(answers=a.count(), satisfied=(a.score >= 4).sum().cast("int64"),
                             mean_score=a.score.mean())
    return g.select(*keys, "answers", "satisfied",
                    csat=100.0 * g.satisfied.cast("float64") / g.answers,
                    mean_score=g.mean_score).order_by(keys)


def ratings(source: Source, *, by: str | None = None, period: str | None = None) -> ir.Table:
    """Per group (and period): ``ratings``, ``raters``, ``items`` and ``avg_rating``."""
    require_events(source)
    ix = source.interactions
    ix = ix.filter(ix.signal.isin([Signal.RATING.value, Signal.REVIEW.value]),
                   ix.rating.notnull())
    ix, keys = _grouped(source, ix, by, period)
    return ix.group_by(keys).agg(
        ratings=ix.count(), raters=ix.profile_id.nunique(), items=ix.item_id.nunique(),
        avg_rating=ix.rating.mean()).order_by(keys)
