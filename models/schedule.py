"""When a reader is due, in their own time zone: the one rule the planner sends by and the web
tells a new reader ("your first digest arrives ..."). Pure, and light to import: the web
must not load the ranking model to answer a sign-up.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from models.tables import Frequency, Subscriber, SubscriberStatus, utcnow


def local_time(sub: Subscriber, now: datetime) -> datetime:
    """`now` in the reader's time zone (UTC when they have none): their send hour, pause dates
    and editions are all in it."""
    return now.astimezone(ZoneInfo(sub.timezone or "UTC"))


def local_today(sub: Subscriber) -> date:
    return local_time(sub, utcnow()).date()


def edition_for(sub: Subscriber, now: datetime) -> str:
    """The subscriber's local date: one digest per local day (or ISO week for weekly)."""
    local = local_time(sub, now)
    if sub.frequency == Frequency.weekly:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.date().isoformat()


def next_edition_day(sub: Subscriber, local: datetime) -> date:
    """The first local day, from `local`'s on, that an edition may go out: after any pause,
    and on the chosen weekday for weekly readers."""
    day = max(local.date(), sub.paused_until or local.date())
    while sub.frequency == Frequency.weekly and day.weekday() != sub.send_weekday:
        day += timedelta(days=1)
    return day


def is_due(sub: Subscriber, now: datetime, ignore_send_hour: bool = False) -> bool:
    """Whether the planner gives this reader a digest now: active, not off, not paused, on
    their weekday and past their send hour (`ignore_send_hour`: any hour and any weekday)."""
    if sub.status != SubscriberStatus.active or sub.frequency == Frequency.off:
        return False
    local = local_time(sub, now)
    if ignore_send_hour:
        return sub.paused_until is None or local.date() >= sub.paused_until
    return next_edition_day(sub, local) == local.date() and local.hour >= sub.send_hour
