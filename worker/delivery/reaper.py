"""The send reaper (beat, every SEND_REAP_EVERY_SECONDS): nothing planned is left behind.

1. A run the circuit breaker paused resumes once its cool-down is over (`policy`).
2. A digest left in `sending` longer than SEND_STALE_SECONDS (its worker died mid-wave) and
   not yet settled by an arriving event (`settle`, called by the webhook; it also settles a
   digest planned again after an unanswered request, and `recheck` reads the evidence once
   more before any retry is posted) is settled by
   provider evidence: an event carrying its ref (`processed`, `delivered`,
   `deferred`, `bounce` -> the provider has it: sent; `dropped` -> failed with the provider's
   reason). With no evidence, SEND_UNRESOLVED decides: `resend` (back to planned) or `fail`
   (failed as "unresolved"; `paperboy runs status` lists them, `paperboy runs resend` sends).
3. Work whose broker message is gone (a Redis restart, a killed worker's task) is handed out
   again: planning chunks not done of a run idle for SEND_REQUEUE_IDLE_SECONDS; planned
   digests nobody has queued (a retry whose time has come, a paused run's leftovers), and
   queued ones of a run that has made no progress for SEND_REQUEUE_IDLE_SECONDS. A digest is
   never handed out before its own retry time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from config import Settings
from emails.providers.base import EventType
from models import DeliveryEvent, Digest, DigestStatus, RunState, SendRun, digest_ref
from models.db import pages
from models.tables import digest_ids_of
from worker.delivery import chunks, policy, runs

HAS_IT = (EventType.queued, EventType.delivered, EventType.deferred, EventType.bounced)
EVIDENCE = (*HAS_IT, EventType.rejected)


@dataclass
class ReapResult:
    resumed: list[int] = field(default_factory=list)  # run ids
    settled_sent: int = 0
    settled_failed: int = 0
    unresolved: int = 0
    requeue: dict[int, list[int]] = field(default_factory=dict)  # run id -> digest ids
    replan: list[int] = field(default_factory=list)  # planning chunks whose task was lost
    finished: list[int] = field(default_factory=list)


def reap(session: Session, settings: Settings, now: datetime) -> ReapResult:
    result = ReapResult()
    for run_id, resume_at in session.exec(
        select(SendRun.id, SendRun.resume_at).where(
            SendRun.state == RunState.paused, col(SendRun.resume_at).is_not(None)
        )
    ).all():
        if policy.resumes_by_itself(resume_at, now) and runs.resume(session, run_id):
            result.resumed.append(run_id)
    settle_stale(session, settings, now, result)
    active = {
        run.id: run
        for run in session.exec(select(SendRun).where(SendRun.state == RunState.running))
    }
    idle_since = now - timedelta(seconds=settings.send_requeue_idle_seconds)
    result.replan = chunks.lost(session, idle_since)
    for run_id, run in active.items():
        idle = (run.heartbeat_at or run.created_at) < idle_since
        queued_lost = col(Digest.queued_at).is_(None)
        if idle:
            queued_lost = queued_lost | (col(Digest.queued_at) < idle_since)
        ids = list(
            session.exec(
                select(Digest.id)
                .where(
                    Digest.run_id == run_id,
                    Digest.status == DigestStatus.planned,
                    col(Digest.next_attempt_at).is_(None) | (col(Digest.next_attempt_at) <= now),
                    queued_lost,
                )
                .order_by(Digest.id)
            )
        )
        if ids:
            result.requeue[run_id] = ids
        elif runs.finish_if_done(session, run_id, now):
            result.finished.append(run_id)
    return result


def settle_arrived(session: Session, events: list) -> int:
    """Provider evidence settles a digest awaiting it the moment it arrives (the webhook):
    `sending`, or planned again after an unanswered request, so `runs status` never counts as
    still to send what the provider already has, and an unanswered send is not posted twice.
    Returns how many it settled."""
    ids = sorted(digest_ids_of(events, EVIDENCE))
    if not ids:
        return 0
    awaiting = list(session.exec(select(Digest.id).where(col(Digest.id).in_(ids), AWAITING)))
    return len(settle(session, awaiting)) if awaiting else 0


# What the provider's evidence may still settle: a request in flight (or its worker died), or
# one written and left unanswered, planned again until the evidence or its wait comes.
AWAITING = (col(Digest.status) == DigestStatus.sending) | (
    (col(Digest.status) == DigestStatus.planned) & (col(Digest.fail_reason) == runs.UNANSWERED)
)


def settle(session: Session, digest_ids: list[int]) -> dict[int, DigestStatus]:
    """Settle those of these digests still awaiting it (`AWAITING`) by the provider's
    evidence: an event with its ref in HAS_IT -> sent, `dropped` -> failed with the provider's
    reason. Webhook events call it as they arrive, a retry before it is posted again
    (`recheck`), the reaper for stale ones. Returns what the evidence made of each digest it
    covers."""
    refs = {digest_ref(d): d for d in digest_ids}
    evidence: dict[int, DeliveryEvent] = {}
    for event in session.exec(
        select(DeliveryEvent)
        .where(
            col(DeliveryEvent.ref).in_(list(refs)),
            col(DeliveryEvent.event_type).in_(EVIDENCE),
        )
        .order_by(DeliveryEvent.occurred_at)
    ):
        evidence.setdefault(refs[event.ref], event)  # the first evidence settles it
    settled: dict[int, DigestStatus] = {}
    for digest_id, event in evidence.items():
        if event.event_type == EventType.rejected:
            values = {
                "status": DigestStatus.failed,
                "fail_reason": "dropped",
                "last_error": f"the provider dropped it: {event.reason or 'no reason given'}",
            }
        else:
            values = {
                "status": DigestStatus.sent,
                "sent_at": event.occurred_at,
                "provider_message_id": event.message_id,
                "last_error": None,
                "fail_reason": None,
            }
        settled[digest_id] = values["status"]
        session.exec(update(Digest).where(col(Digest.id) == digest_id, AWAITING).values(**values))
    return settled


def recheck(
    session: Session, retries: dict[int, int], settings: Settings
) -> dict[int, DigestStatus]:
    """Retries just claimed (digest id -> attempts, this claim's counted), read against the
    provider's evidence once more before they are posted: one the provider has is settled
    (sent, or failed if dropped), not posted again. One whose last request went unanswered
    and still has no evidence after SEND_UNANSWERED_WAIT_SECONDS is posted again only under
    SEND_UNRESOLVED=resend and below SEND_MAX_ATTEMPTS; otherwise it fails as "unresolved"
    (`runs status` lists it, `paperboy runs resend` sends it). A claim that posts nothing is
    no attempt. Returns those not to post: id -> their outcome (sent | failed)."""
    known = settle(session, list(retries))
    rest = [d for d in retries if d not in known]
    unanswered = session.exec(
        select(Digest.id).where(col(Digest.id).in_(rest), Digest.fail_reason == runs.UNANSWERED)
    ).all()
    resend = settings.send_unresolved == "resend"
    given_up = [d for d in unanswered if not resend or retries[d] > settings.send_max_attempts]
    if given_up:
        session.exec(
            update(Digest)
            .where(col(Digest.id).in_(given_up), Digest.status == DigestStatus.sending)
            .values(
                status=DigestStatus.failed,
                fail_reason="unresolved",
                last_error=f"unanswered after the request was written; no provider event after "
                f"{settings.send_unanswered_wait_seconds:.0f}s: not resent "
                f"(SEND_UNRESOLVED={settings.send_unresolved}, attempts "
                f"{settings.send_max_attempts} max); check the provider's activity, then "
                "`paperboy runs resend`",
            )
        )
        known |= dict.fromkeys(given_up, DigestStatus.failed)
    if known:
        session.exec(
            update(Digest).where(col(Digest.id).in_(known)).values(attempts=Digest.attempts - 1)
        )
    return known


def settle_stale(session: Session, settings: Settings, now: datetime, result: ReapResult) -> None:
    stale = list(
        session.exec(
            select(Digest.id).where(
                Digest.status == DigestStatus.sending,
                col(Digest.claimed_at) < now - timedelta(seconds=settings.send_stale_seconds),
            )
        )
    )
    for page in pages(stale):
        evidence = settle(session, page)
        dropped = sum(status == DigestStatus.failed for status in evidence.values())
        result.settled_sent += len(evidence) - dropped
        result.settled_failed += dropped
        unknown = [d for d in page if d not in evidence]
        if not unknown:
            continue
        result.unresolved += len(unknown)
        note = (
            f"interrupted during send; no provider event after {settings.send_stale_seconds:.0f}s"
        )
        resend = settings.send_unresolved == "resend"
        failed = {
            "status": DigestStatus.failed,
            "fail_reason": "unresolved",
            "last_error": f"{note}: not resent (SEND_UNRESOLVED={settings.send_unresolved}, "
            f"attempts {settings.send_max_attempts} max); check the provider's activity, "
            "then `paperboy runs resend`",
        }
        resent = {
            "status": DigestStatus.planned,
            "queued_at": None,
            "last_error": f"{note}: resent (SEND_UNRESOLVED=resend)",
        }
        stale_now = col(Digest.id).in_(unknown) & (col(Digest.status) == DigestStatus.sending)
        below_max = col(Digest.attempts) < settings.send_max_attempts
        if resend:  # a digest that kills its worker every time stops at SEND_MAX_ATTEMPTS
            session.exec(update(Digest).where(stale_now, below_max).values(**resent))
        session.exec(update(Digest).where(stale_now).values(**failed))
