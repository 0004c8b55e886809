"""SendGrid Event Webhook, Signed Event Webhook flavour: verify first, then parse and record.

SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the base64 DER
signature and the timestamp in two headers; the verification key from its settings page is
base64 DER (SubjectPublicKeyInfo). No key configured means we refuse: events are never
accepted unsigned. Replays are harmless because events are stored once per `sg_event_id`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from models import session_scope
from web.deps import SettingsDep
from worker import events

router = APIRouter()
log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


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


def _refuse(status: int, detail: str) -> JSONResponse:
    log.warning("sendgrid webhook refused (%s): %s", status, detail)
    return JSONResponse({"detail": detail}, status_code=status)


@router.post("/webhooks/sendgrid")
async def sendgrid_events(request: Request, settings: SettingsDep) -> JSONResponse:
    if not settings.sendgrid_webhook_public_key:
        return _refuse(
            503,
            "SENDGRID_WEBHOOK_PUBLIC_KEY is not set: refusing unsigned events. Enable the Signed "
            "Event Webhook in SendGrid and set its verification key.",
        )
    try:
        key = load_public_key(settings.sendgrid_webhook_public_key)
    except ValueError as e:
        return _refuse(503, f"SENDGRID_WEBHOOK_PUBLIC_KEY is unusable: {e}")
    body = await request.body()  # the exact bytes SendGrid signed
    signature = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        return _refuse(
            403, f"unsigned: missing signature headers {SIGNATURE_HEADER} / {TIMESTAMP_HEADER}"
        )
    if not signature_valid(key, signature, timestamp, body):
        return _refuse(403, "signature does not match: events not recorded")
    try:
        parsed = events.parse_sendgrid(json.loads(body))
    except (ValueError, UnicodeDecodeError) as e:
        return _refuse(400, f"unreadable event payload: {e}")
    counts = await run_in_threadpool(_record, parsed)
    return JSONResponse(vars(counts))


def _record(parsed: list[events.TrackingEvent]) -> events.EventCounts:
    with session_scope() as session:
        return events.record(session, parsed)
