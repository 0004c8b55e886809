"""When a source announces new papers: its weekdays, hour and holidays, in its own time zone.

A calendar answers three questions, all in aware UTC instants: when the next announcement is
expected, which announcements fell in an interval, and, when none did, why in the reader's
words ("does not announce on Fridays or Saturdays"). Pure: no clock, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
DAILY = frozenset(range(7))
HORIZON_DAYS = 30  # no calendar is closed this long; past it, something is wrong


@dataclass(frozen=True)
class Calendar:
    zone: str  # IANA name of the zone the schedule is kept in
    hour: int  # local hour of the announcement
    weekdays: frozenset[int] = DAILY  # 0 = Monday
    holidays: Mapping[date, str] = field(default_factory=dict)  # local date -> its name
    lag_hours: float = 3.0  # how late an announcement may reach the API before it is "silent"

    def announces(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, time(self.hour), ZoneInfo(self.zone)).astimezone(UTC)

    def announcements(self, since: datetime, until: datetime) -> list[datetime]:
        """The announcements after `since` up to `until`."""
        first = since.astimezone(ZoneInfo(self.zone)).date()
        days = (first + timedelta(n) for n in range((until - since).days + 2))
        return [t for d in days if self.announces(d) and since < (t := self._at(d)) <= until]

    def next_after(self, moment: datetime) -> datetime | None:
        found = self.announcements(moment, moment + timedelta(days=HORIZON_DAYS))
        return found[0] if found else None

    def last_before(self, moment: datetime) -> datetime | None:
        found = self.announcements(moment - timedelta(days=HORIZON_DAYS), moment)
        return found[-1] if found else None

    def why_none(self, since: datetime, until: datetime) -> str:
        """Why no announcement fell in the interval, in words: its local days' holidays, then
        the weekdays the source never announces on ("does not announce on Saturdays")."""
        zone = ZoneInfo(self.zone)
        first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
        days = [first + timedelta(n) for n in range((last - first).days + 1)]
        holidays = [self.holidays[d] for d in days if d in self.holidays]
        closed = sorted({d.weekday() for d in days if d.weekday() not in self.weekdays})
        parts = [f"on {name}" for name in dict.fromkeys(holidays)]
        if closed:
            parts.append("on " + " or ".join(DAY_NAMES[w] for w in closed))
        return "does not announce " + " or ".join(parts) if parts else "announced nothing"
