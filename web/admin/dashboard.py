"""The numbers on the dashboard, read from the database (and the broker's queue lengths).
Per-run numbers come from `worker.delivery.overview`, the same as `paperboy runs status`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import func
from sqlmodel import Session, col, select

from config import Settings
from config.celery import QUEUES
from emails.providers.base import EventType
from models import DeliveryEvent, Feedback, SourceRun, Subscriber, SubscriberStatus, utcnow
from worker.delivery import liveness, overview


@dataclass
class EditionRow:
    totals: overview.EditionTotals
    unsubscribes: int = 0
    more: int = 0
    less: int = 0
    clicks: int = 0


@dataclass
class Dashboard:
    days: list[str]
    subscribers: dict[str, list[int]]  # status -> count on each day (by sign-up date)
    editions: list[EditionRow]
    runs: list[overview.RunLine]
    sources: list[SourceRun]
    queues: dict[str, int | str] = field(default_factory=dict)
    reaper_beat: datetime | None = None  # None: no beat (in-process) or none recorded yet


def subscriber_series(session: Session, days: int = 30) -> tuple[list[str], dict[str, list[int]]]:
    """Subscribers signed up by each of the last `days` days, by their status now."""
    today = utcnow().date()
    labels = [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    first = labels[0]
    per_day: dict[str, dict[str, int]] = defaultdict(dict)
    before: dict[str, int] = defaultdict(int)
    for day, status, n in session.exec(
        select(func.date(Subscriber.created_at), Subscriber.status, func.count()).group_by(
            func.date(Subscriber.created_at), Subscriber.status
        )
    ):
        day = str(day)
        if day < first:
            before[status] += n
        else:
            per_day[day][status] = n
    series = {}
    for status in SubscriberStatus:
        running, values = before[status], []
        for day in labels:
            running += per_day[day].get(status, 0)
            values.append(running)
        series[status.value] = values
    return labels, series


def _by_day(session: Session, column, *where) -> dict[str, int]:
    return {
        str(day): n
        for day, n in session.exec(
            select(func.date(column), func.count()).where(*where).group_by(func.date(column))
        )
    }


def edition_rows(session: Session) -> list[EditionRow]:
    """Each edition's digest totals with the day's unsubscribes, votes and clicks (an edition
    is named by its date; weekly editions show their digests only)."""
    unsubscribes = _by_day(
        session, Subscriber.unsubscribed_at, col(Subscriber.unsubscribed_at).is_not(None)
    )
    more = _by_day(session, Feedback.created_at, Feedback.value == 1)
    less = _by_day(session, Feedback.created_at, Feedback.value == -1)
    clicks = _by_day(
        session, DeliveryEvent.occurred_at, DeliveryEvent.event_type == EventType.clicked
    )
    return [
        EditionRow(
            totals=t,
            unsubscribes=unsubscribes.get(t.edition, 0),
            more=more.get(t.edition, 0),
            less=less.get(t.edition, 0),
            clicks=clicks.get(t.edition, 0),
        )
        for t in overview.editions(session)
    ]


def latest_fetches(session: Session) -> list[SourceRun]:
    """Each source's latest fetch run."""
    seen: dict[str, SourceRun] = {}
    for run in session.exec(select(SourceRun).order_by(col(SourceRun.id).desc()).limit(200)):
        seen.setdefault(run.source, run)
    return sorted(seen.values(), key=lambda r: r.source)


def queue_depths(settings: Settings) -> dict[str, int | str]:
    """Tasks waiting in each Celery queue (Redis lists), or why it is unknown."""
    if not settings.redis_url:
        return {"tasks": "run in-process (no REDIS_URL)"}
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return {q: int(client.llen(q)) for q in QUEUES}
    except redis.RedisError as e:
        return {"redis": f"unreachable ({type(e).__name__})"}
    finally:
        client.close()


def build(session: Session, settings: Settings) -> Dashboard:
    days, series = subscriber_series(session)
    return Dashboard(
        days=days,
        subscribers=series,
        editions=edition_rows(session),
        runs=overview.recent_runs(session, 5),
        sources=latest_fetches(session),
        queues=queue_depths(settings),
        reaper_beat=liveness.last_beat(settings),
    )


def edition_bars(rows: list[EditionRow]) -> list[tuple[str, dict[str, int]]]:
    return [
        (
            r.totals.edition,
            {
                "sent": r.totals.by_status.get("sent", 0),
                "failed": r.totals.by_status.get("failed", 0),
                "skipped": r.totals.by_status.get("skipped", 0) - r.totals.nothing_relevant,
                "nothing relevant": r.totals.nothing_relevant,
                "to send": r.totals.by_status.get("planned", 0)
                + r.totals.by_status.get("sending", 0),
            },
        )
        for r in rows
    ]
