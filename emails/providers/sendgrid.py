"""SendGrid, all of it in one place: v3 Mail Send, the Signed Event Webhook's signature, and
the mapping of its events into our TrackingEvent.

Sending: `POST /v3/mail/send` with our digest ref in custom_args; one httpx client owns the
timeout; any non-2xx becomes a MailError carrying status and body.

Webhook: SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the base64
DER signature and the timestamp in two headers; the verification key from its settings page is
base64 DER (SubjectPublicKeyInfo).

Events: a mapping table into `EventType` (as django-anymail does); each event also carries the
subscriber-level consequence SendGrid's semantics give it (`effect`), so applying events needs
no knowledge of any provider.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from functools import lru_cache

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from emails.providers.base import EventType, MailError, TrackingEvent

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

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


def payload(message: EmailMessage, ref: str) -> dict:
    name, addr = parseaddr(str(message["From"]))
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    sender = {"email": addr} | ({"name": name} if name else {})
    headers = {k: str(v) for k, v in message.items() if k.lower() not in RESERVED}
    return {
        "personalizations": [
            {
                "to": [{"email": parseaddr(str(message["To"]))[1]}],
                "custom_args": {"paperboy_ref": ref},
            }
        ],
        "from": sender,
        "subject": str(message["Subject"]),
        "content": [
            {"type": "text/plain", "value": text.get_content() if text else ""},
            {"type": "text/html", "value": html.get_content() if html else ""},
        ],
        "headers": headers,
        "custom_args": {"paperboy_ref": ref},
    }


class SendGridBackend:
    name = "sendgrid"

    def __init__(
        self, api_key: str, api_url: str, timeout: float = 20.0, client: httpx.Client | None = None
    ):
        self.client = client or httpx.Client(
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
        )

    def send(self, message: EmailMessage, *, ref: str) -> str:
        try:
            resp = self.client.post("/v3/mail/send", json=payload(message, ref))
        except httpx.HTTPError as e:
            raise MailError("sendgrid", f"request failed: {e}") from e
        if resp.status_code >= 300:
            raise MailError("sendgrid", "send rejected", resp.status_code, resp.text)
        return resp.headers.get("X-Message-Id") or ref


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
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


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


def parse_events(events: list) -> list[TrackingEvent]:
    """SendGrid posts a JSON array of event objects; custom args arrive as top-level keys.

    Lenient on purpose: an event we cannot classify is kept as `unknown`, never dropped.
    """
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ValueError("SendGrid events must be a JSON array of objects")
    return [_event(e) for e in events]


def _event(raw: dict) -> TrackingEvent:
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
        ref=(str(raw["paperboy_ref"])[:128] if raw.get("paperboy_ref") else None),
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
