"""Celery configuration, queues, retry policy and beat schedule: defined once, here."""

from __future__ import annotations

import random

from celery.schedules import crontab
from kombu import Queue

from config.settings import Settings

QUEUES = ("ingest", "rank", "send", "webhooks")
ROUTES = {
    "paperboy.fetch_source": {"queue": "ingest"},
    "paperboy.plan_due": {"queue": "rank"},
    "paperboy.send_due": {"queue": "send"},
    "paperboy.send_digest": {"queue": "send"},
    "paperboy.send_notice": {"queue": "send"},
}


RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600


def backoff_seconds(attempt: int, *, jitter: bool = True) -> float:
    """THE retry delay for every task: exponential from a minute, capped at an hour, with
    "full jitter" (uniform between half and all of it) so a burst of failures does not come
    back as one synchronized burst of retries."""
    delay = min(RETRY_BASE_SECONDS * 2 ** max(attempt, 0), RETRY_MAX_SECONDS)
    return random.uniform(delay / 2, delay) if jitter else float(delay)


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
        "worker_prefetch_multiplier": 1,
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
            "fetch-arxiv": {
                "task": "paperboy.fetch_source",
                "schedule": settings.arxiv_fetch_every_hours * 3600,
                "args": ("arxiv",),
            },
            "fetch-hf": {
                "task": "paperboy.fetch_source",
                "schedule": settings.hf_fetch_every_hours * 3600,
                "args": ("hf",),
            },
        },
    }
