"""Apply normalized provider events: store each once, change subscriber state by its effect.

Parsing and the meaning of each provider's events live with the provider
(`emails.providers.<name>`); here only the effect matters. Storage is unique per
(provider, event_id), so a replayed or retried webhook changes nothing twice. An event the
database refuses as data is skipped with its reason; a database that fails (connection lost,
an error of its own) raises, so the webhook answers 5xx and the provider retries the batch.
Evidence that the provider has a message settles its digest at once: `sending`, or planned
again after an unanswered request (which is then never posted twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, select

from config import get_settings
from emails.providers.base import EventType, TrackingEvent
from models import DeliveryEvent, SubscriberStatus, subscribers
from worker.delivery import guard, reaper

log = logging.getLogger(__name__)


@dataclass
class EventCounts:
    received: int = 0
    new: int = 0
    duplicate: int = 0
    applied: int = 0
    skipped: int = 0  # unreadable or unstorable: logged, and the rest of the batch still counts


def apply(session: Session, event: TrackingEvent) -> str | None:
    """Change subscriber state for one event; returns a short description of the change."""
    effect = event.effect
    if effect is None or not event.recipient:
        return None
    source = f"webhook:{event.provider}:{event.event_id}"
    undeliverable = {
        EventType.bounced: (SubscriberStatus.bounced, "bounce"),
        EventType.complained: (SubscriberStatus.complained, "spam_report"),
    }
    if effect in undeliverable:
        status, reason = undeliverable[effect]
        return subscribers.mark_undeliverable(
            session=session, email=event.recipient, status=status, reason=reason, source=source
        )
    sub = subscribers.find(session, event.recipient)
    if sub is None:
        subscribers.suppress(session, event.recipient, "unsubscribe", source)
        return "suppressed"
    subscribers.unsubscribe(session, sub, source)
    return "unsubscribed+suppressed"


def record(session: Session, events: list[TrackingEvent]) -> EventCounts:
    """Store each event once and apply it in the same savepoint: both happen or neither. One
    event the database refuses as data (or a bad address) is skipped and logged; it never costs
    the rest of the batch. Any other database error propagates: the batch is not stored, and
    the provider must retry it. Then the new evidence settles `sending` digests, and the
    deliverability guard judges the runs the new bounces and complaints are about."""
    counts = EventCounts(received=len(events))
    new: list[TrackingEvent] = []
    for event in events:
        if _stored(session, event):
            counts.duplicate += 1
            continue
        try:
            with session.begin_nested():
                effect = apply(session, event)
                session.add(
                    DeliveryEvent(
                        provider=event.provider,
                        event_id=event.event_id,
                        event_type=event.event_type.value,
                        occurred_at=event.timestamp,
                        message_id=event.message_id,
                        recipient=event.recipient,
                        reason=event.reason,
                        ref=event.ref,
                        effect=effect,
                        payload=event.payload,
                    )
                )
        except IntegrityError:  # a concurrent delivery of the same event stored it first
            counts.duplicate += 1
            continue
        except (DataError, ValueError) as e:  # bad in itself: a retry would fail the same
            log.warning("event %s from %s skipped: %s", event.event_id, event.provider, e)
            counts.skipped += 1
            continue
        counts.new += 1
        counts.applied += effect is not None
        new.append(event)
    reaper.settle_arrived(session, new)
    for run_id in guard.after_events(session, new, get_settings()):
        log.warning("run %s paused by the deliverability guard", run_id)
    return counts


def _stored(session: Session, event: TrackingEvent) -> bool:
    return (
        session.exec(
            select(DeliveryEvent.id).where(
                DeliveryEvent.provider == event.provider, DeliveryEvent.event_id == event.event_id
            )
        ).first()
        is not None
    )
