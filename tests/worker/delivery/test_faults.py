"""Exactly once through faults, with real parts: PostgreSQL, Redis, Celery worker processes
(prefork, beat embedded, as the Procfile runs them), the web app taking the stand-in's signed
events, and the SendGrid stand-in counting what it accepted for whom.

A SIGKILLed worker leaves at most one wave in `sending`; the reaper settles each of those by
the provider's events (the stand-in got it: sent) or, with no event after SEND_STALE_SECONDS,
resends it; the rest of the killed chunk is requeued once the run makes no progress. A Redis
restart loses the queued chunks; the reaper requeues them once Redis is back.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from models import Digest, RunState, SendRun, session_scope
from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import API_KEY, SendGridSigner, StandIn
from tests.worker.processes import WebApp, free_port, start_redis, start_worker, stop, wait_for
from tests.worker.sending import address, plan_run
from worker import tasks

pytestmark = pytest.mark.services
N = 240


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
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    with WebApp() as web:
        standin.post_events_to(web.webhook_url, signer)
        yield env, standin
    standin.stop()


def _worker(env: dict[str, str], home: Path, name: str):
    schedule = home / f"beat-{name}"
    return start_worker(
        env, home / f"{name}.log", "--concurrency=2", "-B", f"--schedule={schedule}"
    )


def _run_done(run_id: int) -> bool:
    with session_scope() as session:
        return session.get(SendRun, run_id).state == RunState.done


def _assert_each_sent_once(run_id: int, standin: StandIn) -> None:
    assert standin.delivered_to() == {address(i): 1 for i in range(N)}  # 0 duplicates, 0 missing
    with session_scope() as session:
        statuses = set(session.exec(select(Digest.status).where(Digest.run_id == run_id)))
    assert statuses == {"sent"}


def test_sigkilled_worker_mid_run_every_digest_is_sent_exactly_once(
    delivery_env, paperboy_home: Path
) -> None:
    env, standin = delivery_env
    run_id, planned = plan_run(N)
    first = _worker(env, paperboy_home, "first")
    try:
        tasks.dispatch(run_id, planned)
        wait_for(
            lambda: len(standin.accepted()) >= N // 4,
            "sends to start",
            log=paperboy_home / "first.log",
        )
    finally:
        stop(first, signal.SIGKILL)  # mid-wave: no chance to record anything
    killed_at = len(standin.accepted())
    assert killed_at < N
    second = _worker(env, paperboy_home, "second")
    try:
        wait_for(
            lambda: _run_done(run_id), "the run to finish", 90, log=paperboy_home / "second.log"
        )
    finally:
        stop(second)
    _assert_each_sent_once(run_id, standin)


def test_redis_restarted_mid_run_completes_without_loss(
    delivery_env, paperboy_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, standin = delivery_env
    port = free_port(6390, 6399)
    own = f"redis://127.0.0.1:{port}/0"
    env = {**env, "REDIS_URL": own}
    monkeypatch.setenv("REDIS_URL", own)
    reset_caches()
    redis = start_redis(port, paperboy_home / "redis")
    worker = None
    try:
        run_id, planned = plan_run(N)
        worker = _worker(env, paperboy_home, "worker")
        tasks.dispatch(run_id, planned)
        wait_for(
            lambda: len(standin.accepted()) >= N // 4,
            "sends to start",
            log=paperboy_home / "worker.log",
        )
        stop(redis, signal.SIGKILL)  # the queued chunks are gone with it
        lost_at = len(standin.accepted())
        redis = start_redis(port, paperboy_home / "redis")
        assert lost_at < N
        wait_for(
            lambda: _run_done(run_id), "the run to finish", 90, log=paperboy_home / "worker.log"
        )
    finally:
        if worker is not None:
            stop(worker)
        stop(redis)
    _assert_each_sent_once(run_id, standin)
