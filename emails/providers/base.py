"""What every provider shares: what a provider declares (`Provider`), the backend contract,
the one error type every failure becomes, and the normalized tracking event every provider's
webhook is mapped into."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from config import Settings
from emails.render import RenderedEmail


@dataclass(frozen=True, slots=True)
class Envelope:
    """One rendered email and where it goes. API providers build their payload from this
    directly; only SMTP and the outbox turn it into MIME (`emails.message.to_mime`)."""

    rendered: RenderedEmail
    to: str
    sender: str
    ref: str  # ours: digest-<id> / notice-...; the provider echoes it in every event
    message_id: str  # <key@domain>, stable per digest so a resend can be spotted
    when: datetime | None = None
    category: str = ""  # digest | confirm | welcome | unsubscribed


class MailError(RuntimeError):
    """A send that failed; carries enough to decide retry vs permanent failure."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        transient: bool | None = None,
        retry_after: float | None = None,
        auth: bool | None = None,
        unanswered: bool = False,
    ):
        detail = f" (status {status})" if status else ""
        if body:
            detail += f": {' '.join(body.split())[:300]}"
        super().__init__(f"{provider}: {message}{detail}")
        self.provider = provider
        self.status = status
        self.body = body[:2000]
        self.transient = transient  # set by protocols whose codes are not HTTP's (SMTP)
        self.retry_after = retry_after  # seconds the provider asked us to wait (429)
        self.auth = status in (401, 403) if auth is None else auth  # our credentials refused
        # The whole request was written and no answer came (a reset, a hang-up, a timeout):
        # the provider may have the message, so only its evidence may tell whether to resend.
        self.unanswered = unanswered


def is_retryable(error: MailError) -> bool:
    """The one retry rule: network errors, 429 and 5xx retry; any other 4xx is permanent.
    A refused credential (401/403) is neither: it pauses the whole run (`error.auth`)."""
    if error.auth:
        return False
    if error.transient is not None:
        return error.transient
    return error.status is None or error.status == 429 or error.status >= 500


class Backend(Protocol):
    name: str
    concurrency: int  # sends it takes at once (threads); 1 for a single SMTP connection

    def send(self, envelope: Envelope) -> str:
        """Deliver one email; return the provider's message id. Raise MailError."""
        ...

    # A backend may also have `send_all(envelopes) -> list[str | MailError]`: a wave at once
    # from the calling thread, each result in order (`worker.delivery.send.post` prefers it).

    def close(self) -> None:
        """End of a batch: release what only this batch used (an SMTP connection)."""
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


class WebhookRefused(Exception):
    """A webhook request we will not record: the HTTP status to answer and why, in words an
    operator can act on."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Webhook:
    """A provider's event webhook. `verify` runs first and raises WebhookRefused unless the
    request is the provider's own (headers, the exact raw body, our settings); only then does
    `parse` turn the body into events, each with its `effect`, plus the reasons any unreadable
    event was skipped (raising ValueError when the whole body is unreadable)."""

    verify: Callable[[Mapping[str, str], bytes, Settings], None]
    parse: Callable[[bytes], tuple[list[TrackingEvent], list[str]]]


@dataclass(frozen=True)
class Provider:
    """Everything Paperboy knows about one provider, declared by its module as `PROVIDER` and
    found through `emails.providers.registry`: nothing outside that module names it.

    `backend` builds the sender from settings, raising ConfigError when a setting it needs is
    missing; `credential_hint` tells an operator what to fix when the provider refuses our
    credentials (a paused run says it)."""

    name: str
    backend: Callable[[Settings], Backend]
    credential_hint: str = "check the mail provider's credentials"
    webhook: Webhook | None = None
