"""The numbers on the dashboard, read from the database (and the broker's queue lengths).
Per-run numbers come from `worker.delivery.overview`, the same as `paperboy runs status`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import func
from sqlmodel import Session, col, select

from config import Settings
from config.celery import QUEUES
from emails.providers.base import EventType
from models import (
    DeliveryEvent,
    Feedback,
    SourceRun,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
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
    subscribers: dict[str, list[int]]  # status -> readers in it at the end of each day
    editions: list[EditionRow]
    runs: list[overview.RunLine]
    sources: list[SourceRun]
    queues: dict[str, int | str] = field(default_factory=dict)
    reaper_beat: datetime | None = None  # None: no beat (in-process) or none recorded yet


# A reader's status on a past day, rebuilt from the timestamps each status change leaves:
# signed up (pending), confirmed (active), then the change that ended it (unsubscribed_at, or
# the suppression a bounce or complaint wrote). A re-subscription restarts the timestamps, so
# its earlier history is shown as the current one.
ENDED = {
    SubscriberStatus.unsubscribed,
    SubscriberStatus.bounced,
    SubscriberStatus.complained,
}

History = tuple[str, str | None, str, str | None]  # created, confirmed, status now, ended (dates)


def status_on(day: str, created: str, confirmed: str | None, now: str, ended: str | None) -> str:
    """The status a reader had at the end of `day` (ISO dates compare as strings)."""
    if now in ENDED and (ended or created) <= day:
        return now
    if confirmed is not None and confirmed <= day:
        return SubscriberStatus.active.value
    return SubscriberStatus.pending.value


def series_from(labels: list[str], rows: list[tuple[History, int]]) -> dict[str, list[int]]:
    """Count readers by their status on each labelled day (pure: rows are grouped histories)."""
    series = {status.value: [0] * len(labels) for status in SubscriberStatus}
    for (created, confirmed, now, ended), n in rows:
        for i, day in enumerate(labels):
            if created <= day:
                series[status_on(day, created, confirmed, now, ended)][i] += n
    return series


def subscriber_series(session: Session, days: int = 30) -> tuple[list[str], dict[str, list[int]]]:
    """Readers by status on each of the last `days` days, as each status change dated it."""
    today = utcnow().date()
    labels = [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    ended = func.coalesce(func.date(Subscriber.unsubscribed_at), func.date(Suppression.created_at))
    key = (
        func.date(Subscriber.created_at),
        func.date(Subscriber.confirmed_at),
        Subscriber.status,
        ended,
    )
    rows = session.exec(
        select(*key, func.count())
        .select_from(Subscriber)
        .outerjoin(Suppression, col(Suppression.email) == col(Subscriber.email))
        .group_by(*key)
    )
    grouped = [
        ((str(c), str(f) if f else None, str(s), str(e) if e else None), n)
        for c, f, s, e, n in rows
    ]
    return labels, series_from(labels, grouped)


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
