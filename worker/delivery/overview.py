"""What an operator reads about sending, from the database: each run in a line (edition,
start, duration, rate, state) and each edition's totals. A run's own counts are
`runs.counts`, the ones `paperboy runs status` prints; the rows here are built from them, so
the CLI, the dashboard and /metrics never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, literal
from sqlmodel import Session, col, select

from config import Settings
from emails.providers.base import EventType
from models import DeliveryEvent, Digest, DigestStatus, RunState, SendRun
from models.tables import DIGEST_REF
from worker.delivery import runs


@dataclass(frozen=True)
class RunLine:
    counts: runs.RunCounts
    edition: str  # the edition its digests belong to ("-" for an empty run)
    started: datetime
    duration: timedelta | None  # to the finish, or so far (last outcome recorded)
    heartbeat: datetime | None  # when a worker last recorded an outcome


def duration(value: timedelta | None) -> str:
    """A run's duration as a person reads it: 42s, 3m05s, 2h04m."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def run_line(session: Session, run: SendRun) -> RunLine:
    edition = session.exec(select(func.min(Digest.edition)).where(Digest.run_id == run.id)).one()
    end = run.finished_at or run.heartbeat_at
    return RunLine(
        counts=runs.counts(session, run),
        edition=edition or "-",
        started=run.created_at,
        duration=(end - run.created_at) if end else None,
        heartbeat=run.heartbeat_at,
    )


def shown_state(
    session: Session, run: SendRun, beat_missing: bool, settings: Settings, now: datetime
) -> str:
    """The run's state as an operator should read it: a running run nothing will move is
    "stalled", not "running": no outcome recorded for SEND_REQUEUE_IDLE_SECONDS, no retry
    scheduled, and no reaper beat to hand its lost work out again."""
    if run.state != RunState.running or not beat_missing:
        return run.state
    idle_since = now - timedelta(seconds=settings.send_requeue_idle_seconds)
    if (run.heartbeat_at or run.created_at) >= idle_since:
        return run.state
    retry_ahead = select(Digest.id).where(
        Digest.run_id == run.id,
        Digest.status == DigestStatus.planned,
        col(Digest.next_attempt_at) > now,
    )
    return run.state if session.exec(select(retry_ahead.exists())).one() else "stalled"


def recent_runs(session: Session, limit: int = 20) -> list[RunLine]:
    latest = session.exec(select(SendRun).order_by(col(SendRun.id).desc()).limit(limit)).all()
    return [run_line(session, run) for run in latest]


@dataclass
class EditionTotals:
    edition: str
    by_status: dict[str, int]
    nothing_relevant: int = 0  # skipped at planning: no run, no email
    bounced: int = 0
    complaints: int = 0

    @property
    def planned(self) -> int:
        return sum(self.by_status.values()) - self.nothing_relevant


def editions(session: Session, limit: int = 14) -> list[EditionTotals]:
    """The latest editions' digests by status, "nothing relevant" apart, and the bounces and
    complaints their emails drew (distinct digests)."""
    names = list(
        session.exec(
            select(Digest.edition)
            .group_by(Digest.edition)
            .order_by(Digest.edition.desc())
            .limit(limit)
        )
    )
    out = {name: EditionTotals(name, {}) for name in reversed(names)}
    for edition, status, no_run, n in session.exec(
        select(Digest.edition, Digest.status, col(Digest.run_id).is_(None), func.count())
        .where(col(Digest.edition).in_(names))
        .group_by(Digest.edition, Digest.status, col(Digest.run_id).is_(None))
    ):
        row = out[edition]
        row.by_status[status] = row.by_status.get(status, 0) + n
        if status == DigestStatus.skipped and no_run:
            row.nothing_relevant += n
    ref = literal(DIGEST_REF) + cast(Digest.id, String)
    for edition, kind, n in session.exec(
        select(Digest.edition, DeliveryEvent.event_type, func.count(func.distinct(Digest.id)))
        .select_from(DeliveryEvent)
        .join(Digest, DeliveryEvent.ref == ref)
        .where(
            col(Digest.edition).in_(names),
            col(DeliveryEvent.event_type).in_(
                [EventType.bounced, EventType.rejected, EventType.complained]
            ),
        )
        .group_by(Digest.edition, DeliveryEvent.event_type)
    ):
        if kind == EventType.complained:
            out[edition].complaints += n
        else:
            out[edition].bounced += n
    return list(out.values())


def complaints_by_run(session: Session, run_ids: list[int]) -> dict[int, int]:
    """Spam complaints each run's emails drew (distinct digests)."""
    ref = literal(DIGEST_REF) + cast(Digest.id, String)
    return dict(
        session.exec(
            select(Digest.run_id, func.count(func.distinct(Digest.id)))
            .select_from(DeliveryEvent)
            .join(Digest, DeliveryEvent.ref == ref)
            .where(
                col(Digest.run_id).in_(run_ids),
                DeliveryEvent.event_type == EventType.complained,
            )
            .group_by(Digest.run_id)
        ).all()
    )


def send_latencies(session: Session, limit: int = 1000) -> list[float]:
    """Seconds from claim to recorded outcome of the latest sends: the provider's answer time
    plus the wave's rendering and bookkeeping, sorted."""
    rows = session.exec(
        select(Digest.claimed_at, Digest.sent_at)
        .where(Digest.status == DigestStatus.sent, col(Digest.claimed_at).is_not(None))
        .order_by(col(Digest.sent_at).desc())
        .limit(limit)
    ).all()
    return sorted((sent - claimed).total_seconds() for claimed, sent in rows)
