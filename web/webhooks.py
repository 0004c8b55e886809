"""Provider event webhooks: verify first, then parse and record.

The provider module owns the signature scheme and the event mapping
(`emails.providers.sendgrid`); this route is the HTTP edge. No key configured means we
refuse: events are never accepted unsigned. The body is capped before it is read; a signed
timestamp older than WEBHOOK_MAX_AGE_SECONDS (or from the future) is a replay and refused;
within a signed batch one unreadable event is skipped and logged, never the batch. Replays
within the window are harmless because events are stored once per provider event id.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from emails.providers import sendgrid
from emails.providers.base import TrackingEvent
from models import session_scope
from web.deps import SettingsDep
from worker.delivery import events

router = APIRouter()
log = logging.getLogger(__name__)


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
        key = sendgrid.load_public_key(settings.sendgrid_webhook_public_key)
    except ValueError as e:
        return _refuse(503, f"SENDGRID_WEBHOOK_PUBLIC_KEY is unusable: {e}")
    signature_header, timestamp_header = sendgrid.SIGNATURE_HEADER, sendgrid.TIMESTAMP_HEADER
    signature = request.headers.get(signature_header)
    timestamp = request.headers.get(timestamp_header)
    if not signature or not timestamp:
        return _refuse(
            403, f"unsigned: missing signature headers {signature_header} / {timestamp_header}"
        )
    if not sendgrid.timestamp_fresh(timestamp, settings.webhook_max_age_seconds):
        return _refuse(
            403,
            f"signature timestamp {timestamp!r} is more than "
            f"{settings.webhook_max_age_seconds:.0f}s old or in the future: a replay",
        )
    # The exact bytes SendGrid signed; the router's body limit (WEBHOOK_MAX_BODY_BYTES, set in
    # web.app) refuses a larger body with 413 while it is read, before any of it is kept.
    body = await request.body()
    if not sendgrid.signature_valid(key, signature, timestamp, body):
        return _refuse(403, "signature does not match: events not recorded")
    try:
        parsed, skipped = sendgrid.parse_events(json.loads(body))
    except (ValueError, UnicodeDecodeError) as e:
        return _refuse(400, f"unreadable event payload: {e}")
    for reason in skipped:
        log.warning("sendgrid webhook: %s skipped", reason)
    counts = await run_in_threadpool(_record, parsed)
    counts.received += len(skipped)
    counts.skipped += len(skipped)
    return JSONResponse(vars(counts))


def _record(parsed: list[TrackingEvent]) -> events.EventCounts:
    with session_scope() as session:
        return events.record(session, parsed)
