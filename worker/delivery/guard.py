"""The deliverability guard's edge: read a run's sliding window from the database, ask
`policy.guard`, pause the run when it says so.

It runs where provider events are applied (`events.record`), since bounces and complaints
arrive after the sends they are about. The window is the run's last GUARD_WINDOW_SENDS sends
since it was last resumed: an operator who resumes has looked at the list, and the guard
judges what is sent from then on.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, cast, func, literal
from sqlmodel import Session, col, select

from config import Settings
from emails.providers.base import EventType, TrackingEvent
from models import DeliveryEvent, Digest, DigestStatus, RunState, SendRun
from models.tables import DIGEST_REF, digest_ids_of
from worker.delivery import policy, runs

JUDGED = (EventType.bounced, EventType.complained)


def window(session: Session, run: SendRun, settings: Settings) -> policy.Window:
    """The run's most recent sends (since its last resume) and the provider's verdicts on them:
    hard bounces suppressed the address, soft ones (SendGrid "blocked") did not."""
    recent = select(Digest.id).where(Digest.run_id == run.id, Digest.status == DigestStatus.sent)
    if run.resumed_at is not None:
        recent = recent.where(col(Digest.sent_at) >= run.resumed_at)
    recent = (
        recent.order_by(col(Digest.sent_at).desc(), col(Digest.id).desc())
        .limit(settings.guard_window_sends)
        .subquery()
    )
    sends = session.exec(select(func.count()).select_from(recent)).one()
    ref = literal(DIGEST_REF) + cast(recent.c.id, String)
    rows = session.exec(
        select(
            DeliveryEvent.event_type,
            col(DeliveryEvent.effect).is_(None),
            func.count(func.distinct(DeliveryEvent.ref)),
        )
        .join(recent, DeliveryEvent.ref == ref)
        .where(col(DeliveryEvent.event_type).in_(JUDGED))
        .group_by(DeliveryEvent.event_type, col(DeliveryEvent.effect).is_(None))
    ).all()
    found = {(kind, no_effect): n for kind, no_effect, n in rows}
    return policy.Window(
        sends=sends,
        hard_bounces=found.get((EventType.bounced, False), 0),
        soft_bounces=found.get((EventType.bounced, True), 0),
        complaints=sum(n for (kind, _), n in found.items() if kind == EventType.complained),
    )


def after_events(
    session: Session, events: Iterable[TrackingEvent], settings: Settings
) -> list[int]:
    """Judge every running run these events are about; returns the ids of runs it paused."""
    digest_ids = digest_ids_of(events, JUDGED)
    if not digest_ids:
        return []
    running = session.exec(
        select(SendRun)
        .join(Digest, col(Digest.run_id) == SendRun.id)
        .where(col(Digest.id).in_(sorted(digest_ids)), SendRun.state == RunState.running)
        .distinct()
    ).all()
    paused = []
    for run in running:
        pause = policy.guard(window(session, run, settings), settings)
        if pause is not None and runs.pause(session, run.id, pause.reason):
            paused.append(run.id)
    return paused
