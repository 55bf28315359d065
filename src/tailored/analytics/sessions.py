"""Sessions: a person's events split where they were inactive for longer than a gap.

The session is the person's, not the device's: a person who moves from phone to laptop
within the gap stays in one session (stitching made them one profile). A session's
``platform`` is the platform of its first event. Calls from the shop's back end (platform
``server``: refunds, e-mail service) are not visits and are left out, unless
``include_server`` (imported history such as MovieLens ratings arrives as back-end calls).
Events are ordered by time, then message id, so ties split the same way on every engine.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tailored.analytics.checks import require_events
from tailored.analytics.source import Source
from tailored.errors import InvalidInput

__all__ = ["DEFAULT_GAP_MINUTES", "session_summary", "sessions"]

DEFAULT_GAP_MINUTES = 30.0
_BY = ("platform",)


def _check_gap(gap_minutes: float) -> float:
    if not gap_minutes > 0:
        raise InvalidInput(f"gap must be a positive number of minutes, got {gap_minutes}",
                           field="gap")
    return float(gap_minutes)


def sessions(source: Source, *, gap_minutes: float = DEFAULT_GAP_MINUTES,
             include_server: bool = False) -> ir.Table:
    """One row per session: ``profile_id``, ``session`` (1, 2, ... per person), ``platform``,
    ``start``, ``end``, ``events``, ``duration_seconds`` (0 for a one-event session)."""
    gap = _check_gap(gap_minutes) * 60.0
    require_events(source)
    e = source.events
    e = e.filter(e.profile_id.notnull())
    if not include_server:
        e = e.filter(e.platform.isnull() | (e.platform != "server"))
    w = ibis.window(group_by=e.profile_id, order_by=[e.timestamp, e.message_id])
    t = e.mutate(seconds=e.timestamp.epoch_seconds().cast("float64"))
    t = t.mutate(prev=t.seconds.lag().over(w))
    t = t.mutate(starts=ibis.cases((t.prev.isnull() | (t.seconds - t.prev > gap), 1), else_=0))
    t = t.mutate(session=t.starts.cumsum().over(w))
    first = ibis.window(group_by=[t.profile_id, t.session], order_by=[t.timestamp, t.message_id])
    t = t.mutate(first_platform=t.platform.first().over(first))
    out = t.group_by(["profile_id", "session"]).agg(
        platform=t.first_platform.max(), start=t.timestamp.min(), end=t.timestamp.max(),
        events=t.count(), duration_seconds=t.seconds.max() - t.seconds.min())
    return out.order_by(["profile_id", "session"])


def session_summary(source: Source, *, gap_minutes: float = DEFAULT_GAP_MINUTES,
                    by: str | None = None, include_server: bool = False) -> ir.Table:
    """Totals over all sessions (or per ``by="platform"``): ``sessions``, ``people``,
    ``sessions_per_person``, ``events_per_session``, ``median_duration_seconds``,
    ``mean_duration_seconds`` and ``bounce_rate`` (share of one-event sessions)."""
    if by is not None and by not in _BY:
        raise InvalidInput(f"by must be one of {', '.join(_BY)} (or nothing), got {by!r}",
                           field="by")
    s = sessions(source, gap_minutes=gap_minutes, include_server=include_server)
    metrics = dict(
        sessions=s.count(), people=s.profile_id.nunique(),
        events_per_session=s.events.cast("float64").mean(),
        median_duration_seconds=s.duration_seconds.median(),
        mean_duration_seconds=s.duration_seconds.mean(),
        # Cast: PostgreSQL reads the literals as numeric, and averages them as numeric.
        bounce_rate=ibis.cases((s.events == 1, 1), else_=0).cast("float64").mean())
    out = s.group_by(by).agg(**metrics) if by else s.agg(**metrics)
    out = out.mutate(sessions_per_person=out.sessions.cast("float64") / out.people)
    return out.order_by(ibis.desc("sessions")) if by else out
