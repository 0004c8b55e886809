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
from pathlib import Path

import pytest

from tests.conftest import reset_caches
from tests.worker.processes import free_port, start_redis, start_worker, stop, wait_for
from tests.worker.sending import each_sent_once, plan_run, run_done
from worker import tasks

pytestmark = pytest.mark.services
N = 240


def _worker(env: dict[str, str], home: Path, name: str):
    schedule = home / f"beat-{name}"
    return start_worker(
        env, home / f"{name}.log", "--concurrency=2", "-B", f"--schedule={schedule}"
    )


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
            lambda: run_done(run_id), "the run to finish", 90, log=paperboy_home / "second.log"
        )
    finally:
        stop(second)
    each_sent_once(run_id, standin.delivered_to(), N)


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
            lambda: run_done(run_id), "the run to finish", 90, log=paperboy_home / "worker.log"
        )
    finally:
        if worker is not None:
            stop(worker)
        stop(redis)
    each_sent_once(run_id, standin.delivered_to(), N)
