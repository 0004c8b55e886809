"""SendGrid, all of it in one place: v3 Mail Send, the Signed Event Webhook's signature, and
the mapping of its events into our TrackingEvent.

Sending: `POST /v3/mail/send` with the v3 body built as a plain dict straight from the
rendered email (no MIME round trip; the shape `sendgrid.helpers.mail` gives, which the tests
hold it to), our digest ref in custom_args. Transport: the process's kept-alive connections
(`keepalive`, plain sockets), not the library's own client, which opens a new connection
(TCP, and TLS in production) for every request; a pooled client library costs more CPU than
the request (`paperboy bench send` measures them). A request is never sent twice by the
transport once written; any failure or non-2xx becomes a MailError carrying status, the
provider's message and Retry-After, or that the request was written and went unanswered
(`MailError.unanswered`: SendGrid may have it), and the delivery policy decides what follows.

Webhook: SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the base64
DER signature and the timestamp in two headers; `sendgrid.helpers.eventwebhook` verifies it.
The verification key from its settings page is base64 DER (SubjectPublicKeyInfo).

Events: a mapping table into `EventType` (as django-anymail does); each event also carries the
subscriber-level consequence SendGrid's semantics give it (`effect`), so applying events needs
no knowledge of any provider.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from sendgrid.helpers.eventwebhook import EventWebhook

from config import ConfigError, Settings
from config.celery import parse_retry_after
from emails.providers import keepalive
from emails.providers.base import (
    Envelope,
    EventType,
    MailError,
    Provider,
    TrackingEvent,
    Webhook,
    WebhookRefused,
)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
REF_ARG = "paperboy_ref"
log = logging.getLogger(__name__)

ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # built once, not per request
# Headers SendGrid sets itself and rejects in the `headers` object.
RESERVED = {
    "from",
    "to",
    "subject",
    "date",
    "content-type",
    "mime-version",
    "cc",
    "bcc",
    "reply-to",
    "content-transfer-encoding",
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "message-id",
}


def payload(envelope: Envelope) -> dict:
    """The v3 Mail Send body: text/plain before text/html (SendGrid's rule), every header we
    render (List-Unsubscribe, its one-click POST, List-Id), our ref as a custom arg."""
    name, addr = sender(envelope.sender)
    rendered = envelope.rendered
    body: dict = {
        "from": {"name": name, "email": addr} if name else {"email": addr},
        "subject": rendered.subject,
        "personalizations": [{"to": [{"email": envelope.to}]}],
        "content": [
            {"type": "text/plain", "value": rendered.text},
            {"type": "text/html", "value": rendered.html},
        ],
    }
    headers = {k: v for k, v in rendered.headers.items() if k.lower() not in RESERVED}
    if headers:
        body["headers"] = headers
    if envelope.category:
        body["categories"] = [envelope.category]
    body["custom_args"] = {REF_ARG: envelope.ref}
    return body


def encoded(envelope: Envelope) -> bytes:
    """`ENCODE(payload(envelope))` as bytes. When the renderer gave the text and HTML as
    JSON strings already (`RenderedEmail.json`, made from its fragments), they go in as
    they are: the rest of the body is encoded with a stand-in for each and the stand-ins
    replaced, the same bytes without escaping 60 KB again."""
    body = payload(envelope)
    made = envelope.rendered.json
    if made is None:
        return ENCODE(body).encode()
    body["content"] = [{"type": t, "value": CONTENT_MARK} for t in ("text/plain", "text/html")]
    parts = ENCODE(body).split(ENCODED_MARK)
    if len(parts) != 3:  # another field is the stand-in itself
        return ENCODE(payload(envelope)).encode()
    return "".join((parts[0], made[0], parts[1], made[1], parts[2])).encode()  # one copy


CONTENT_MARK = "\x00"
ENCODED_MARK = ENCODE(CONTENT_MARK)
sender = lru_cache(maxsize=16)(parseaddr)  # (name, address) of FROM_EMAIL: one per process


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from Retry-After (seconds) or X-RateLimit-Reset (epoch seconds)."""
    if "Retry-After" in headers:
        return parse_retry_after(headers["Retry-After"])
    try:
        if "X-RateLimit-Reset" in headers:
            return max(float(headers["X-RateLimit-Reset"]) - time.time(), 0.0)
    except ValueError:
        return None
    return None


def error_message(body: bytes) -> str:
    """SendGrid's own words: {"errors": [{"message", "field", "help"}]}."""
    try:
        errors = json.loads(body)["errors"]
        return "; ".join(
            f"{e['field']}: {e['message']}" if e.get("field") else str(e["message"]) for e in errors
        )
    except (ValueError, KeyError, TypeError):
        return "send rejected"


class SendGridBackend:
    name = "sendgrid"

    def __init__(self, api_key: str, api_url: str, timeout: float = 20.0, concurrency: int = 32):
        self.concurrency = concurrency
        parts = urlsplit(api_url.rstrip("/"))
        self.path = parts.path + "/v3/mail/send"
        self.origin = keepalive.origin(
            f"{parts.scheme}://{parts.netloc}",
            {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            timeout,
        )

    def send(self, envelope: Envelope) -> str:
        try:
            answer = keepalive.post(self.origin, self.path, encoded(envelope))
        except keepalive.Unanswered as e:
            answer = e
        return self.message_id(envelope, answer)

    def send_all(self, envelopes: list[Envelope]) -> list[str | MailError]:
        """`send` for a wave from this one thread (`keepalive.post_all`): each one's message
        id or its MailError, in order. An envelope whose body cannot be built fails alone."""
        bodies: list[bytes | MailError] = []
        for envelope in envelopes:
            try:
                bodies.append(encoded(envelope))
            except Exception as e:  # a bug building this one request fails it, not the wave
                log.exception("%s: its request could not be built", envelope.ref)
                bodies.append(MailError(self.name, f"could not send: {e!r}", transient=False))
        answers = iter(
            keepalive.post_all(self.origin, self.path, [b for b in bodies if isinstance(b, bytes)])
        )
        out: list[str | MailError] = []
        for envelope, body in zip(envelopes, bodies, strict=True):
            try:
                out.append(
                    body
                    if isinstance(body, MailError)
                    else self.message_id(envelope, next(answers))
                )
            except MailError as e:
                out.append(e)
        return out

    def message_id(
        self, envelope: Envelope, answer: keepalive.Answer | keepalive.Unanswered
    ) -> str:
        """SendGrid's id for an accepted request; raises MailError for anything else."""
        if isinstance(answer, keepalive.Unanswered):
            raise MailError(
                "sendgrid", f"request failed: {answer}", unanswered=answer.written
            ) from answer
        if answer.status >= 300:
            raise MailError(
                "sendgrid",
                error_message(answer.body),
                status=answer.status,
                body=answer.body.decode(errors="replace"),
                retry_after=retry_after(answer.headers),
            )
        return answer.headers.get("X-Message-Id") or envelope.ref

    def close(self) -> None:
        """The connections outlive a batch: they are the process's."""


def backend(settings: Settings) -> SendGridBackend:
    if not settings.sendgrid_api_key:
        raise ConfigError("MAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
    return SendGridBackend(
        settings.sendgrid_api_key.get_secret_value(),
        settings.sendgrid_api_url,
        timeout=settings.http_timeout_seconds,
        concurrency=settings.send_concurrency,
    )


@lru_cache(maxsize=4)
def load_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """The key as SendGrid shows it (base64 DER), or the same in PEM armour."""
    try:
        if "BEGIN PUBLIC KEY" in value:
            key = load_pem_public_key(value.encode())
        else:
            key = load_der_public_key(base64.b64decode("".join(value.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm) as e:
        raise ValueError(f"not a base64 DER or PEM public key ({e})") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not an ECDSA P-256 public key")
    return key


def signature_valid(
    key: ec.EllipticCurvePublicKey, signature: str, timestamp: str, body: bytes
) -> bool:
    try:
        return EventWebhook().verify_signature(body.decode(), signature, timestamp, key)
    except (ValueError, binascii.Error):  # not UTF-8, not base64, not a DER signature
        return False


def timestamp_fresh(timestamp: str, max_age: float, now: float | None = None) -> bool:
    """The signed timestamp is set afresh on each of SendGrid's retries: one older than
    `max_age`, or from the future (beyond a minute of clock skew), is a replay."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    return -60 <= age <= max_age


def verify(headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    """Refuse (WebhookRefused) unless `body` is signed by SENDGRID_WEBHOOK_PUBLIC_KEY's
    owner and its signed timestamp is fresh. No key configured: events are never accepted
    unsigned."""
    if not settings.sendgrid_webhook_public_key:
        raise WebhookRefused(
            503,
            "SENDGRID_WEBHOOK_PUBLIC_KEY is not set: refusing unsigned events. Enable the Signed "
            "Event Webhook in SendGrid and set its verification key.",
        )
    try:
        key = load_public_key(settings.sendgrid_webhook_public_key)
    except ValueError as e:
        raise WebhookRefused(503, f"SENDGRID_WEBHOOK_PUBLIC_KEY is unusable: {e}") from None
    signature = headers.get(SIGNATURE_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookRefused(
            403, f"unsigned: missing signature headers {SIGNATURE_HEADER} / {TIMESTAMP_HEADER}"
        )
    if not timestamp_fresh(timestamp, settings.webhook_max_age_seconds):
        raise WebhookRefused(
            403,
            f"signature timestamp {timestamp!r} is more than "
            f"{settings.webhook_max_age_seconds:.0f}s old or in the future: a replay",
        )
    if not signature_valid(key, signature, timestamp, body):
        raise WebhookRefused(403, "signature does not match: events not recorded")


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


def parse_events(events: list) -> tuple[list[TrackingEvent], list[str]]:
    """SendGrid posts a JSON array of event objects; custom args arrive as top-level keys.

    Lenient on purpose: an event we cannot classify is kept as `unknown`; one we cannot read
    (not an object, no event or address, a NUL) is skipped with a reason and never costs the
    rest of the batch. Returns (events, reasons for the skipped ones).
    """
    if not isinstance(events, list):
        raise ValueError("SendGrid events must be a JSON array of objects")
    parsed, skipped = [], []
    for i, raw in enumerate(events):
        try:
            parsed.append(_event(raw))
        except ValueError as e:
            skipped.append(f"event {i}: {e}")
    return parsed, skipped


def parse_body(body: bytes) -> tuple[list[TrackingEvent], list[str]]:
    return parse_events(json.loads(body))


def _event(raw: dict) -> TrackingEvent:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    if not raw.get("event") or not isinstance(raw.get("email"), str) or not raw["email"].strip():
        raise ValueError("missing event or email")
    if any("\x00" in v for v in raw.values() if isinstance(v, str)):
        raise ValueError("a NUL character in a field")
    esp_event = str(raw.get("event", ""))
    event_type = SENDGRID_EVENTS.get(esp_event, EventType.unknown)
    reason = raw.get("reason") or raw.get("response") or None
    try:
        when = datetime.fromtimestamp(int(raw["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        when = datetime.now(UTC)
    event_id = raw.get("sg_event_id") or _content_id(raw)
    event = TrackingEvent(
        provider="sendgrid",
        event_type=event_type,
        event_id=str(event_id)[:128],
        timestamp=when,
        recipient=str(raw.get("email") or "").strip().lower(),
        message_id=raw.get("sg_message_id"),
        reason=str(reason) if reason is not None else None,
        ref=(str(raw[REF_ARG])[:128] if raw.get(REF_ARG) else None),
        esp_event=esp_event,
        payload=raw,
    )
    return replace(event, effect=effect_of(event))


def _content_id(raw: dict) -> str:
    """Events without an id still de-duplicate: the same content gives the same id."""
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:56]


def effect_of(event: TrackingEvent) -> EventType | None:
    """Which subscriber-level consequence a SendGrid event has, if any (pure)."""
    if event.event_type == EventType.rejected:
        return SENDGRID_DROP_EFFECTS.get((event.reason or "").strip().lower())
    if event.event_type == EventType.bounced:
        # "blocked" is a temporary refusal (reputation, rate); only real bounces suppress.
        return None if event.payload.get("type") == "blocked" else EventType.bounced
    if event.event_type in (EventType.complained, EventType.unsubscribed):
        return event.event_type
    return None


PROVIDER = Provider(
    name="sendgrid",
    backend=backend,
    credential_hint="check SENDGRID_API_KEY",
    webhook=Webhook(verify=verify, parse=parse_body),
)
