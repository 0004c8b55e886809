"""Provider tracking events: normalize into one TrackingEvent, store once, apply the effect.

Each provider is a mapping table into `EventType` (as django-anymail does). Storage is
unique per (provider, event_id), so a replayed or retried webhook changes nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import DeliveryEvent, SubscriberStatus
from worker import subscribers


class EventType(StrEnum):
    queued = "queued"
    rejected = "rejected"  # the provider refused to send (SendGrid "dropped")
    delivered = "delivered"
    deferred = "deferred"
    bounced = "bounced"
    opened = "opened"
    clicked = "clicked"
    complained = "complained"
    unsubscribed = "unsubscribed"
    subscribed = "subscribed"
    unknown = "unknown"


SENDGRID_EVENTS: dict[str, EventType] = {
    "processed": EventType.queued,
    "dropped": EventType.rejected,
    "delivered": EventType.delivered,
    "deferred": EventType.deferred,
    "bounce": EventType.bounced,
    "open": EventType.opened,
    "click": EventType.clicked,
    "spamreport": EventType.complained,
    "unsubscribe": EventType.unsubscribed,
    "group_unsubscribe": EventType.unsubscribed,
    "group_resubscribe": EventType.subscribed,
}
# SendGrid "dropped" reasons that mean the address itself must not be mailed again.
SENDGRID_DROP_EFFECTS: dict[str, EventType] = {
    "bounced address": EventType.bounced,
    "spam reporting address": EventType.complained,
    "unsubscribed address": EventType.unsubscribed,
}


@dataclass(frozen=True)
class TrackingEvent:
    provider: str
    event_type: EventType
    event_id: str
    timestamp: datetime  # aware UTC
    recipient: str
    message_id: str | None = None
    reason: str | None = None
    ref: str | None = None  # our paperboy_ref custom arg (digest-<id> / notice-...)
    esp_event: str = ""
    payload: dict = field(default_factory=dict)


@dataclass
class EventCounts:
    received: int = 0
    new: int = 0
    duplicate: int = 0
    applied: int = 0


def parse_sendgrid(events: list) -> list[TrackingEvent]:
    """SendGrid posts a JSON array of event objects; custom args arrive as top-level keys.

    Lenient on purpose: an event we cannot classify is kept as `unknown`, never dropped.
    """
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ValueError("SendGrid events must be a JSON array of objects")
    return [_sendgrid_event(e) for e in events]


def _sendgrid_event(raw: dict) -> TrackingEvent:
    esp_event = str(raw.get("event", ""))
    event_type = SENDGRID_EVENTS.get(esp_event, EventType.unknown)
    reason = raw.get("reason") or raw.get("response") or None
    try:
        when = datetime.fromtimestamp(int(raw["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        when = datetime.now(UTC)
    event_id = raw.get("sg_event_id") or _content_id(raw)
    return TrackingEvent(
        provider="sendgrid",
        event_type=event_type,
        event_id=str(event_id)[:128],
        timestamp=when,
        recipient=str(raw.get("email") or "").strip().lower(),
        message_id=raw.get("sg_message_id"),
        reason=str(reason) if reason is not None else None,
        ref=(str(raw["paperboy_ref"])[:128] if raw.get("paperboy_ref") else None),
        esp_event=esp_event,
        payload=raw,
    )


def _content_id(raw: dict) -> str:
    """Events without an id still de-duplicate: the same content gives the same id."""
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:56]


def effect_of(event: TrackingEvent) -> EventType | None:
    """Which subscriber-level consequence an event has, if any (pure)."""
    if event.event_type == EventType.rejected:
        return SENDGRID_DROP_EFFECTS.get((event.reason or "").strip().lower())
    if event.event_type == EventType.bounced:
        # "blocked" is a temporary refusal (reputation, rate); only real bounces suppress.
        return None if event.payload.get("type") == "blocked" else EventType.bounced
    if event.event_type in (EventType.complained, EventType.unsubscribed):
        return event.event_type
    return None


def apply(session: Session, event: TrackingEvent) -> str | None:
    """Change subscriber state for one event; returns a short description of the change."""
    effect = effect_of(event)
    if effect is None or not event.recipient:
        return None
    source = f"webhook:{event.provider}:{event.event_id}"
    if effect == EventType.bounced:
        return subscribers.mark_undeliverable(
            session, event.recipient, SubscriberStatus.bounced, "bounce", source
        )
    if effect == EventType.complained:
        return subscribers.mark_undeliverable(
            session, event.recipient, SubscriberStatus.complained, "spam_report", source
        )
    sub = subscribers.find(session, event.recipient)
    if sub is None:
        subscribers.suppress(session, event.recipient, "unsubscribe", source)
        return "suppressed"
    subscribers.unsubscribe(session, sub, source)
    return "unsubscribed+suppressed"


def record(session: Session, events: list[TrackingEvent]) -> EventCounts:
    """Store each event once and apply it in the same savepoint: both happen or neither."""
    counts = EventCounts(received=len(events))
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
        counts.new += 1
        counts.applied += effect is not None
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
