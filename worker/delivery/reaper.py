"""The send reaper (beat, every SEND_REAP_EVERY_SECONDS): nothing planned is left behind.

1. A run the circuit breaker paused resumes once its cool-down is over (`policy`).
2. A digest left in `sending` longer than SEND_STALE_SECONDS (its worker died mid-wave) and
   not yet settled by an arriving event (`settle`, called by the webhook) is settled by
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
    """Provider evidence settles a `sending` digest the moment it arrives (the webhook), so
    `runs status` never counts as still to send what the provider already has. Returns how
    many it settled."""
    ids = sorted(digest_ids_of(events, EVIDENCE))
    if not ids:
        return 0
    sending = list(
        session.exec(
            select(Digest.id).where(col(Digest.id).in_(ids), Digest.status == DigestStatus.sending)
        )
    )
    return len(settle(session, sending)[0]) if sending else 0


def settle(session: Session, digest_ids: list[int]) -> tuple[set[int], int]:
    """Settle those of these digests still `sending` by the provider's evidence: an event with
    its ref in HAS_IT -> sent, `dropped` -> failed with the provider's reason. Webhook events
    call it as they arrive; the reaper for stale ones. Returns (ids with evidence, how many of
    them failed)."""
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
    dropped = 0
    for digest_id, event in evidence.items():
        if event.event_type == EventType.rejected:
            values = {
                "status": DigestStatus.failed,
                "fail_reason": "dropped",
                "last_error": f"the provider dropped it: {event.reason or 'no reason given'}",
            }
            dropped += 1
        else:
            values = {
                "status": DigestStatus.sent,
                "sent_at": event.occurred_at,
                "provider_message_id": event.message_id,
                "last_error": None,
            }
        session.exec(
            update(Digest)
            .where(col(Digest.id) == digest_id, col(Digest.status) == DigestStatus.sending)
            .values(**values)
        )
    return set(evidence), dropped


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
        evidence, dropped = settle(session, page)
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
