"""The delivery tests' production switches: PostgreSQL, Redis and SendGrid (the stand-in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import API_KEY, SendGridSigner, StandIn
from tests.worker.processes import WebApp


@pytest.fixture
def delivery_env(
    paperboy_home: Path, postgres_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, str], StandIn]]:
    """Production switches (PostgreSQL, Redis, SendGrid) with the stand-in answering in 20 ms,
    its events signed to the web app, and the delivery clocks shortened to seconds."""
    standin = StandIn(delay=0.02).start()
    signer = SendGridSigner()
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-for-delivery-faults",
        "PAPERBOY_HOME": str(paperboy_home),
        "MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": API_KEY,
        "SENDGRID_API_URL": standin.url,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key,
        "SEND_CHUNK_SIZE": "40",
        "SEND_CONCURRENCY": "4",
        "SEND_STALE_SECONDS": "3",
        "SEND_REAP_EVERY_SECONDS": "1",
        "SEND_REQUEUE_IDLE_SECONDS": "2",
        "SEND_RETRY_BASE_SECONDS": "0.5",
        "SEND_UNANSWERED_WAIT_SECONDS": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    with WebApp() as web:
        standin.post_events_to(web.webhook_url, signer)
        yield env, standin
    standin.stop()
