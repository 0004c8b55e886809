"""What every provider shares: the backend contract, the one error type every failure
becomes, and the normalized tracking event every provider's webhook is mapped into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Protocol


class MailError(RuntimeError):
    """A send that failed; carries enough to decide retry vs permanent failure."""

    def __init__(
        self,
        provider: str,
        message: str,
        status: int | None = None,
        body: str = "",
        transient: bool | None = None,
    ):
        detail = f" (status {status})" if status else ""
        if body:
            detail += f": {' '.join(body.split())[:300]}"
        super().__init__(f"{provider}: {message}{detail}")
        self.provider = provider
        self.status = status
        self.body = body[:2000]
        self.transient = transient  # set by protocols whose codes are not HTTP's (SMTP)


def is_retryable(error: MailError) -> bool:
    """The one retry rule: network errors, 429 and 5xx retry; any other 4xx is permanent."""
    if error.transient is not None:
        return error.transient
    return error.status is None or error.status == 429 or error.status >= 500


class Backend(Protocol):
    name: str

    def send(self, message: EmailMessage, *, ref: str) -> str:
        """Deliver one message; return the provider's message id. Raise MailError."""
        ...


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
    effect: EventType | None = None  # the subscriber-level consequence, decided by the provider
    payload: dict = field(default_factory=dict)
