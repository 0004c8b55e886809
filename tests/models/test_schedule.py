"""Who is due when: local send hour, IANA time zones, weekly editions, pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models import Frequency, Subscriber, SubscriberStatus
from models.schedule import edition_for, is_due, local_time, next_edition_day


def _sub(**kw) -> Subscriber:
    base = {"email": "r@example.org", "status": SubscriberStatus.active, "send_hour": 7}
    return Subscriber(**(base | kw))


@pytest.mark.parametrize(
    ("tz", "utc_hour", "due", "edition"),
    [
        ("UTC", 6, False, "2026-11-23"),
        ("UTC", 7, True, "2026-11-23"),
        ("Asia/Tokyo", 22, True, "2026-11-24"),  # 07:00 next day in Tokyo
        ("America/Los_Angeles", 14, False, "2026-11-23"),  # 06:00 in LA
        ("America/Los_Angeles", 15, True, "2026-11-23"),
    ],
)
def test_daily_subscriber_is_due_at_local_send_hour(tz, utc_hour, due, edition) -> None:
    now = datetime(2026, 11, 23, utc_hour, 0, tzinfo=UTC)
    sub = _sub(timezone=tz)
    assert is_due(sub, now) is due
    assert edition_for(sub, now) == edition


def test_weekly_subscriber_gets_one_edition_per_iso_week() -> None:
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    tuesday = datetime(2026, 11, 24, 9, tzinfo=UTC)
    sub = _sub(frequency=Frequency.weekly)
    assert is_due(sub, monday) and not is_due(sub, tuesday)
    assert edition_for(sub, monday) == edition_for(sub, tuesday) == "2026-W48"


@pytest.mark.parametrize("status", ["pending", "unsubscribed", "bounced", "complained"])
def test_inactive_subscribers_are_never_due(status: str) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert not is_due(_sub(status=status), now, ignore_send_hour=True)
    assert not is_due(_sub(frequency=Frequency.off), now, ignore_send_hour=True)


def test_a_reader_without_a_time_zone_lives_in_utc() -> None:
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert local_time(_sub(timezone=""), now) == now
    assert local_time(_sub(timezone="Europe/Berlin"), now).date().isoformat() == "2026-11-24"


def test_a_pause_holds_every_edition_until_its_local_date() -> None:
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)  # a Monday
    paused = _sub(paused_until=date(2026, 11, 25))
    assert not is_due(paused, now) and not is_due(paused, now, ignore_send_hour=True)
    assert is_due(paused, now + timedelta(days=2))
    assert next_edition_day(paused, now) == date(2026, 11, 25)


def test_the_next_edition_of_a_weekly_reader_falls_on_their_weekday() -> None:
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    friday = _sub(frequency=Frequency.weekly, send_weekday=4)
    assert next_edition_day(friday, monday) == date(2026, 11, 27)
    assert not is_due(friday, monday) and is_due(friday, monday, ignore_send_hour=True)
