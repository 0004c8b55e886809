"""Announcement calendars: arXiv's weekdays in US Eastern and holidays, daily preprint servers,
the next expected announcement, and silence past it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.ingest import registry
from worker.ingest.sources.arxiv import CALENDAR as ARXIV

FRIDAY_NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 12:00 US Eastern


def test_arxiv_announces_sunday_to_thursday_evenings_us_eastern() -> None:
    # Friday noon Eastern: the next announcement is Sunday 20:00 EST = Monday 01:00 UTC
    assert ARXIV.next_after(FRIDAY_NOON) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert ARXIV.last_before(FRIDAY_NOON) == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    # summer time: 20:00 EDT is 00:00 UTC
    assert ARXIV.next_after(datetime(2026, 7, 1, 12, tzinfo=UTC)) == datetime(
        2026, 7, 2, 0, 0, tzinfo=UTC
    )
    week = ARXIV.announcements(FRIDAY_NOON, FRIDAY_NOON + timedelta(days=7))
    # Sunday to Wednesday evenings (UTC: Monday to Thursday); Thursday is Thanksgiving
    assert [f"{t:%a}" for t in week] == ["Mon", "Tue", "Wed", "Thu"]
    assert ARXIV.why_none(FRIDAY_NOON, FRIDAY_NOON + timedelta(days=1)) == (
        "does not announce on Fridays or Saturdays"
    )


def test_arxiv_holidays_are_named_and_are_not_silence() -> None:
    wednesday = datetime(2026, 11, 25, 12, tzinfo=UTC)
    # no announcement on Thanksgiving (Thursday 26th): Wednesday's, then Sunday's
    assert ARXIV.next_after(wednesday + timedelta(hours=14)) == datetime(
        2026, 11, 30, 1, 0, tzinfo=UTC
    )
    assert (
        ARXIV.why_none(datetime(2026, 11, 26, 6, tzinfo=UTC), datetime(2026, 11, 28, 6, tzinfo=UTC))
        == "does not announce on Thanksgiving or on Fridays or Saturdays"
    )
    last_news = datetime(2026, 11, 26, 2, tzinfo=UTC)  # Wednesday's announcement, fetched
    assert registry.silent_since("arxiv", last_news, datetime(2026, 11, 29, 12, tzinfo=UTC)) is None


def test_a_source_silent_past_its_next_announcement_is_flagged() -> None:
    last_news = datetime(2026, 11, 17, 2, tzinfo=UTC)  # Monday's announcement
    expected = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)
    assert registry.silent_since("arxiv", last_news, expected + timedelta(hours=2)) is None
    assert registry.silent_since("arxiv", last_news, expected + timedelta(hours=4)) == expected
    # bioRxiv posts daily: a day and a half without news is an outage
    friday = datetime(2026, 11, 20, 6, tzinfo=UTC)
    assert registry.silent_since("biorxiv", friday, friday + timedelta(hours=12)) is None
    assert registry.silent_since("biorxiv", friday, friday + timedelta(hours=36))
    assert registry.next_announcement("medrxiv", friday) == datetime(2026, 11, 21, 4, tzinfo=UTC)


def test_quiet_line_names_each_chosen_source_in_registry_order() -> None:
    saturday = datetime(2026, 11, 21, 15, tzinfo=UTC)
    line = registry.quiet_line(["biorxiv", "arxiv"], saturday - timedelta(days=1), saturday)
    assert line == "arXiv does not announce on Fridays or Saturdays; bioRxiv brought nothing new"
