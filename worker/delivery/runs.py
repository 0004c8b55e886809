"""Send runs: one row per edition's sending, its state, and its counts.

A run's counts are read from its digests (grouped by status and reason), so they can never
drift from what was sent. The state is the one switch every sender checks when it claims a
wave: a paused or cancelled run's digests cannot be claimed, so a pause stops sending within
one wave (a fraction of a second), and a resume hands the same planned digests out again —
claims make sending anyone twice impossible, and nobody planned is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, cast, func, literal, update
from sqlmodel import Session, col, select

from emails.providers.base import EventType
from models import (
    DeliveryEvent,
    Digest,
    DigestStatus,
    PlanChunk,
    RunState,
    SendRun,
    Subscriber,
    utcnow,
)
from models.db import pages
from models.tables import DIGEST_REF

# The reason a planned digest carries when its last request was written and went unanswered:
# the provider may have it, so its evidence is awaited (`reaper.recheck`) before any resend.
UNANSWERED = "unanswered"


@dataclass
class RunCounts:
    run_id: int
    state: str
    planned: int
    by_status: dict[str, int] = field(default_factory=dict)
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0  # skipped because the address is suppressed or no longer active
    unanswered: int = 0  # still to send, waiting for the provider's word on an unanswered send
    bounced: int = 0  # sent, then bounced or dropped (provider events)
    rate: float | None = None  # emails per second, first claim to last send
    pause_reason: str | None = None
    resume_at: datetime | None = None
    unresolved: list[tuple[int, str]] = field(default_factory=list)  # (digest id, email)

    @property
    def sent(self) -> int:
        return self.by_status.get(DigestStatus.sent, 0)

    @property
    def failed(self) -> int:
        return self.by_status.get(DigestStatus.failed, 0)

    @property
    def skipped(self) -> int:
        return self.by_status.get(DigestStatus.skipped, 0)

    @property
    def pending(self) -> int:
        return self.by_status.get(DigestStatus.planned, 0) + self.by_status.get(
            DigestStatus.sending, 0
        )


def update_planned(session: Session, digest_ids: list[int], **values) -> None:
    """Set `values` on those of these digests still planned (a claimed one is left alone)."""
    for page in pages(digest_ids):
        session.exec(
            update(Digest)
            .where(col(Digest.id).in_(page), col(Digest.status) == DigestStatus.planned)
            .values(**values)
        )


def start(session: Session, digest_ids: list[int]) -> SendRun:
    """A new running run owning these digests."""
    run = SendRun(planned=len(digest_ids))
    session.add(run)
    session.flush()
    for page in pages(digest_ids):
        session.exec(update(Digest).where(col(Digest.id).in_(page)).values(run_id=run.id))
    return run


def adopt_planned(session: Session) -> tuple[SendRun | None, list[int]]:
    """A run for planned digests no run owns (planned before runs existed, or by hand), and
    those digests' ids."""
    ids = list(
        session.exec(
            select(Digest.id)
            .where(Digest.status == DigestStatus.planned, col(Digest.run_id).is_(None))
            .order_by(Digest.id)
        )
    )
    return (start(session, ids) if ids else None), ids


def get(session: Session, run_id: int | None = None) -> SendRun | None:
    """The run, or the latest one."""
    if run_id is not None:
        return session.get(SendRun, run_id)
    return session.exec(select(SendRun).order_by(col(SendRun.id).desc())).first()


def pause(session: Session, run_id: int, reason: str, resume_at: datetime | None = None) -> bool:
    """running -> paused (a breaker pause carries `resume_at`); False if it was not running."""
    result = session.exec(
        update(SendRun)
        .where(col(SendRun.id) == run_id, col(SendRun.state) == RunState.running)
        .values(state=RunState.paused, pause_reason=reason, resume_at=resume_at)
    )
    return result.rowcount == 1


def resume(session: Session, run_id: int, *, operator: bool = False) -> bool:
    """paused -> running, the breaker's count reset; the caller hands the work out again. An
    operator's resume also starts the deliverability guard's window afresh: they have looked
    at the list (the breaker's own resume does not)."""
    values = dict(state=RunState.running, pause_reason=None, resume_at=None, transient_streak=0)
    if operator:
        values["resumed_at"] = utcnow()
    result = session.exec(
        update(SendRun)
        .where(col(SendRun.id) == run_id, col(SendRun.state) == RunState.paused)
        .values(**values)
    )
    return result.rowcount == 1


def cancel(session: Session, run_id: int) -> int:
    """Cancel the run; its unsent digests become skipped. Returns how many."""
    session.exec(
        update(SendRun)
        .where(
            col(SendRun.id) == run_id, col(SendRun.state).in_([RunState.running, RunState.paused])
        )
        .values(state=RunState.cancelled, pause_reason=None, resume_at=None)
    )
    result = session.exec(
        update(Digest)
        .where(col(Digest.run_id) == run_id, col(Digest.status) == DigestStatus.planned)
        .values(status=DigestStatus.skipped, fail_reason="cancelled", last_error="run cancelled")
    )
    return result.rowcount


def planned_ids(session: Session, run_id: int) -> list[int]:
    return list(
        session.exec(
            select(Digest.id)
            .where(Digest.run_id == run_id, Digest.status == DigestStatus.planned)
            .order_by(Digest.id)
        )
    )


def planned_for(session: Session, run_id: int, subscriber_ids: list[int]) -> list[int]:
    """The run's planned digests for these readers, in id order."""
    return sorted(
        d
        for page in pages(subscriber_ids)
        for d in session.exec(
            select(Digest.id).where(
                Digest.run_id == run_id,
                col(Digest.subscriber_id).in_(page),
                Digest.status == DigestStatus.planned,
            )
        )
    )


def finish_if_done(session: Session, run_id: int, now: datetime) -> bool:
    """running -> done once every chunk of it is planned and no digest of it is planned or
    sending."""
    busy = select(Digest.id).where(
        Digest.run_id == run_id,
        col(Digest.status).in_([DigestStatus.planned, DigestStatus.sending]),
    )
    planning = select(PlanChunk.id).where(
        PlanChunk.run_id == run_id, col(PlanChunk.done_at).is_(None)
    )
    result = session.exec(
        update(SendRun)
        .where(
            col(SendRun.id) == run_id,
            col(SendRun.state) == RunState.running,
            ~busy.exists(),
            ~planning.exists(),
        )
        .values(state=RunState.done, finished_at=now)
    )
    return result.rowcount == 1


def counts(session: Session, run: SendRun, detail: bool = True) -> RunCounts:
    """The run's counts from its digests. `detail=False` stops at the counts by status (what
    a progress bar polls), skipping the bounce, rate and unresolved queries."""
    rows = session.exec(
        select(Digest.status, Digest.fail_reason, func.count())
        .where(Digest.run_id == run.id)
        .group_by(Digest.status, Digest.fail_reason)
    ).all()
    result = RunCounts(
        run.id, run.state, run.planned, pause_reason=run.pause_reason, resume_at=run.resume_at
    )
    for status, reason, n in rows:
        result.by_status[status] = result.by_status.get(status, 0) + n
        if status == DigestStatus.failed:
            result.failed_by_reason[reason or "other"] = n
        if status == DigestStatus.skipped and reason in ("suppressed", "inactive"):
            result.suppressed += n
        if status == DigestStatus.planned and reason == UNANSWERED:
            result.unanswered += n
    if not detail:
        return result
    ref = literal(DIGEST_REF) + cast(Digest.id, String)
    result.bounced = session.exec(
        select(func.count(func.distinct(DeliveryEvent.ref)))
        .join(Digest, DeliveryEvent.ref == ref)
        .where(
            Digest.run_id == run.id,
            col(DeliveryEvent.event_type).in_([EventType.bounced, EventType.rejected]),
        )
    ).one()
    first, last = session.exec(
        select(func.min(Digest.claimed_at), func.max(Digest.sent_at)).where(
            Digest.run_id == run.id, Digest.status == DigestStatus.sent
        )
    ).one()
    if first and last and last > first:
        result.rate = result.sent / (last - first).total_seconds()
    result.unresolved = [
        (d, email)
        for d, email in session.exec(
            select(Digest.id, Subscriber.email)
            .join(Subscriber, col(Subscriber.id) == Digest.subscriber_id)
            .where(
                Digest.run_id == run.id,
                Digest.status == DigestStatus.failed,
                Digest.fail_reason == "unresolved",
            )
            .order_by(Digest.id)
            .limit(50)
        )
    ]
    return result


def resend_unresolved(session: Session, run_id: int) -> list[int]:
    """Failed-as-unresolved digests back to planned (the operator checked the provider)."""
    ids = list(
        session.exec(
            select(Digest.id).where(
                Digest.run_id == run_id,
                Digest.status == DigestStatus.failed,
                Digest.fail_reason == "unresolved",
            )
        )
    )
    for page in pages(ids):
        session.exec(
            update(Digest)
            .where(col(Digest.id).in_(page))
            .values(status=DigestStatus.planned, fail_reason=None, next_attempt_at=None)
        )
    if ids:
        session.exec(
            update(SendRun)
            .where(col(SendRun.id) == run_id, col(SendRun.state) == RunState.done)
            .values(state=RunState.running, finished_at=None)
        )
    return ids
