"""Celery configuration, queues, retry policy and beat schedule: defined once, here."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

from celery.schedules import crontab
from kombu import Queue

from config.settings import Settings

# `control` carries the send reaper: never stuck behind a backlog of send chunks. Provider
# events have no queue: the webhook stores them in its own short, idempotent transaction and
# answers 2xx only then, so SendGrid retries anything we did not keep.
QUEUES = ("ingest", "rank", "send", "control")
ROUTES = {
    "paperboy.fetch_source": {"queue": "ingest"},
    "paperboy.plan_due": {"queue": "rank"},
    "paperboy.plan_chunk": {"queue": "rank"},
    "paperboy.send_due": {"queue": "send"},
    "paperboy.send_chunk": {"queue": "send"},
    "paperboy.reap_sends": {"queue": "control"},
    "paperboy.resume_run": {"queue": "control"},
    "paperboy.send_notice": {"queue": "send"},
}


RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 600
# Redis redelivers a task nobody acknowledged within this long (acks_late: a task is acked when
# it ends). Deliberately above the longest task (a send chunk takes seconds, planning 100k about
# a minute) and above every countdown (RETRY_MAX_SECONDS), or a waiting retry would be delivered
# twice; far below Celery's one hour, which stranded a killed worker's tasks. Lost send work
# does not wait for it: the send reaper requeues it within a minute.
VISIBILITY_TIMEOUT_SECONDS = 900
assert RETRY_MAX_SECONDS < VISIBILITY_TIMEOUT_SECONDS


def backoff_seconds(
    attempt: int,
    *,
    base: float = RETRY_BASE_SECONDS,
    retry_after: float | None = None,
    jitter: bool = True,
) -> float:
    """THE retry delay for every task and every send: exponential from `base`, capped, with
    jitter (uniform between half and all of it) so a burst of failures does not come back as
    one synchronized burst of retries. A provider's `retry_after` (429 Retry-After) is a floor:
    never earlier, spread over up to as long again."""
    delay = min(base * 2 ** max(attempt, 0), RETRY_MAX_SECONDS)
    if retry_after is not None:
        spread = min(max(retry_after, 1.0), delay)
        return retry_after + (random.uniform(0, spread) if jitter else 0.0)
    return random.uniform(delay / 2, delay) if jitter else float(delay)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (either form the RFC allows), or None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def celery_config(settings: Settings) -> dict:
    return {
        # No REDIS_URL: tasks run in-process (the embedded default), said out loud by the CLI.
        "broker_url": settings.redis_url or "memory://localhost/",
        "task_always_eager": settings.tasks_in_process,
        "task_eager_propagates": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "task_acks_late": True,  # a killed worker's task is redelivered ...
        "task_reject_on_worker_lost": True,  # ... and the digest claim stops a double send
        "worker_prefetch_multiplier": 1,  # a send chunk waits in Redis, not behind a busy one
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        "task_queues": [Queue(q) for q in QUEUES],
        "task_default_queue": "rank",
        "task_routes": ROUTES,
        "broker_connection_retry_on_startup": True,
        "timezone": "UTC",
        "beat_schedule": {
            "plan-due-digests": {"task": "paperboy.plan_due", "schedule": crontab(minute="*/15")},
            "send-due-digests": {
                "task": "paperboy.send_due",
                "schedule": crontab(minute="5,20,35,50"),
            },
            "reap-sends": {
                "task": "paperboy.reap_sends",
                "schedule": settings.send_reap_every_seconds,
            },
        },
    }
