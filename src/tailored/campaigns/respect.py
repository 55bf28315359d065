"""Frequency caps and quiet hours, as configured: parsed once, checked per person.

Caps: ``email=2/1d,all=5/7d`` — at most 2 e-mails a day and 5 messages of any channel a
week per person, counting what was sent (not what was skipped); transactional campaigns
neither count nor are capped.

Quiet hours: ``21:00-08:00`` in the person's own time zone (the latest ``context.timezone``
their events carried); a person whose events never said uses ``quiet_hours_timezone``
(UTC unless set). A message due in quiet hours is held and sent when they end, never
dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tailored.errors import InvalidInput

__all__ = ["Cap", "QuietHours", "parse_caps", "parse_quiet_hours", "zone"]

_CAP = re.compile(r"^\s*([a-z]+)\s*=\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CAP_CHANNELS = ("email", "push", "webhook", "inapp", "all")


@dataclass(frozen=True)
class Cap:
    channel: str  # a channel, or "all"
    limit: int
    window: timedelta


def parse_caps(text: str | None) -> list[Cap]:
    if text is None or not text.strip():
        return []
    caps = []
    for part in text.split(","):
        match = _CAP.match(part)
        if not match or match.group(1) not in _CAP_CHANNELS:
            raise InvalidInput(
                f"frequency_caps: {part.strip()!r} is not CHANNEL=N/WINDOW (channels: "
                f"{', '.join(_CAP_CHANNELS)}; windows like 1d, 12h, 7d), e.g. "
                "email=2/1d,all=5/7d", field="frequency_caps")
        caps.append(Cap(match.group(1), int(match.group(2)),
                        timedelta(seconds=float(match.group(3)) * _UNITS[match.group(4)])))
    return caps


def zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """The named IANA zone, or ``default`` for none or an unknown name."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def _quiet(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight

    def release(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """None when ``now`` is outside quiet hours in ``tz``; else when they end (UTC)."""
        local = now.astimezone(tz)
        if not self._quiet(local.time()):
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                            microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        # Wall-clock arithmetic in the zone, then back to UTC (a DST change moves it right).
        return end.replace(tzinfo=tz).astimezone(now.tzinfo)


def parse_quiet_hours(text: str | None) -> QuietHours | None:
    if text is None or not text.strip():
        return None
    match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", text)
    if match:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and (h1, m1) != (h2, m2):
            return QuietHours(time(h1, m1), time(h2, m2))
    raise InvalidInput(f"quiet_hours: {text!r} is not HH:MM-HH:MM (e.g. 21:00-08:00)",
                       field="quiet_hours")
