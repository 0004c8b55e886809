"""Thin Celery tasks: take ids, re-read the world, call a pure core, record the outcome.

With no REDIS_URL the same tasks run in-process (Celery's eager mode), so every arrow
of the pipeline is one code path in the demo and in production.
"""

from __future__ import annotations

from datetime import datetime

from config import get_settings
from config.celery import backoff_seconds
from emails.providers import MailError, is_retryable
from models import session_scope, utcnow
from worker import delivery
from worker.app import app
from worker.fetch import run_source
from worker.planning import PlanResult, plan_edition


@app.task(name="paperboy.plan_due")
def plan_due(ignore_send_hour: bool = False) -> dict:
    settings = get_settings()
    with session_scope() as session:
        result: PlanResult = plan_edition(session, settings, utcnow(), ignore_send_hour)
    for digest_id in result.planned:  # enqueue after commit: the row exists before the task
        send_digest.delay(digest_id)
    return {"planned": len(result.planned), "empty": result.empty, "already": result.already}


@app.task(name="paperboy.send_digest", bind=True, max_retries=None)
def send_digest(self, digest_id: int) -> dict:
    result = delivery.send_digest(digest_id, get_settings())
    if result.outcome == "retry" and not self.app.conf.task_always_eager:
        raise self.retry(countdown=result.retry_in)
    return {"digest": digest_id, "outcome": result.outcome, "detail": result.detail}


@app.task(name="paperboy.send_due")
def send_due() -> dict:
    with session_scope() as session:
        stale = delivery.fail_stale(session, utcnow())
        ids = delivery.planned_ids(session)
    for digest_id in ids:
        send_digest.delay(digest_id)
    return {"enqueued": len(ids), "stale_failed": stale}


@app.task(name="paperboy.send_notice", bind=True, max_retries=5)
def send_notice(self, kind: str, subscriber_id: int) -> str:
    """Confirm / welcome / unsubscribed email; retryable provider errors back off and retry."""
    try:
        return delivery.send_notice(kind, subscriber_id, get_settings())
    except MailError as e:
        # Not autoretry_for: only the retryable MailErrors retry, and never in-process.
        if is_retryable(e) and not self.app.conf.task_always_eager:
            raise self.retry(exc=e, countdown=backoff_seconds(self.request.retries)) from e
        raise


@app.task(name="paperboy.fetch_source")
def fetch_source(source: str, since: str | None = None) -> dict:
    """One source's fetch run; failures are recorded in source_run, not raised."""
    run = run_source(source, get_settings(), since=datetime.fromisoformat(since) if since else None)
    return {"source": source, "status": run.status, "new": run.new, "updated": run.updated}
