"""Provider event webhooks, `/webhooks/{provider}`: verify first, then parse and record.

The provider, found in `emails.providers.registry`, owns its signature scheme and its event
mapping; this route is the HTTP edge and names none. A provider refuses what it cannot verify
(events are never accepted unsigned). The body is capped before this route runs
(WEBHOOK_MAX_BODY_BYTES, web.bodylimit); within a verified batch one unreadable event is
skipped and logged, never the batch. A database failure while storing answers 503, nothing of
the batch kept, so the provider retries it. Replays are harmless because events are stored once
per provider event id.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from emails.providers import registry
from emails.providers.base import TrackingEvent, WebhookRefused
from models import session_scope
from web.deps import SettingsDep
from worker.delivery import events

router = APIRouter()
log = logging.getLogger(__name__)


def _refuse(provider: str, status: int, detail: str) -> JSONResponse:
    log.warning("%r webhook refused (%s): %s", provider, status, detail)
    return JSONResponse({"detail": detail}, status_code=status)


@router.post("/webhooks/{provider}")
async def provider_events(provider: str, request: Request, settings: SettingsDep) -> JSONResponse:
    try:
        webhook = registry.provider(provider).webhook
    except LookupError as e:
        return _refuse(provider, 404, str(e))
    if webhook is None:
        return _refuse(provider, 404, f"mail provider {provider!r} has no event webhook")
    # The exact bytes the provider signed; web.bodylimit has already refused a larger body.
    body = await request.body()
    try:
        webhook.verify(request.headers, body, settings)
    except WebhookRefused as e:
        return _refuse(provider, e.status, e.detail)
    try:
        parsed, skipped = webhook.parse(body)
    except ValueError as e:  # UnicodeDecodeError and JSONDecodeError too
        return _refuse(provider, 400, f"unreadable event payload: {e}")
    for reason in skipped:
        log.warning("%r webhook: %s skipped", provider, reason)
    try:
        counts = await run_in_threadpool(_record, parsed)
    except SQLAlchemyError as e:  # the provider retries a 5xx: nothing of the batch is lost
        log.error("%r webhook: database error, batch refused for a retry: %s", provider, e)
        return JSONResponse(
            {"detail": "database unavailable; retry later"},
            status_code=503,
            headers={"Retry-After": "10"},
        )
    counts.received += len(skipped)
    counts.skipped += len(skipped)
    return JSONResponse(vars(counts))


def _record(parsed: list[TrackingEvent]) -> events.EventCounts:
    with session_scope() as session:
        return events.record(session, parsed)
