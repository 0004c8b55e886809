"""A worker alone finishes every run: no beat, so no reaper. Retries come back as the send
task's own countdowns and a breaker pause ends with the `resume_run` its chunk scheduled;
counted at the SendGrid stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import RunState, SendRun, session_scope
from tests.emails.providers.sendgrid_standin import RESET
from tests.worker.processes import start_worker, stop, wait_for
from tests.worker.sending import each_sent_once, plan_run, run_done
from worker import tasks

pytestmark = pytest.mark.services
N = 160


def _worker_only(env: dict[str, str], home: Path, **extra: str):
    """The Procfile's worker, without -B: nothing else ever runs the reaper."""
    return start_worker({**env, **extra}, home / "worker.log", "--concurrency=2")


def _state(run_id: int) -> tuple[str, str | None]:
    with session_scope() as session:
        run = session.get(SendRun, run_id)
        return run.state, run.pause_reason


def test_resets_and_a_500_storm_then_recovery_every_reader_once_without_beat(
    delivery_env, paperboy_home: Path
) -> None:
    env, standin = delivery_env
    run_id, planned = plan_run(N)
    standin.behaviour.script = [RESET, 500] * 15 + [RESET] * 10  # then healthy
    worker = _worker_only(env, paperboy_home, SEND_BREAKER_COOLDOWN_SECONDS="2")
    try:
        tasks.dispatch(run_id, planned)
        wait_for(lambda: run_done(run_id), "the run to finish", 120, paperboy_home / "worker.log")
    finally:
        stop(worker)
    failed = [r for r in standin.requests if r.status != 202]
    assert len(failed) == 40  # every scripted failure reached the stand-in and was retried
    each_sent_once(run_id, standin.delivered_to(), N)


def test_the_breaker_pauses_cools_down_and_resumes_by_itself_without_beat(
    delivery_env, paperboy_home: Path
) -> None:
    env, standin = delivery_env
    run_id, planned = plan_run(N)
    standin.behaviour.script = [500] * 100  # the provider is down for a while
    worker = _worker_only(
        env, paperboy_home, SEND_BREAKER_COOLDOWN_SECONDS="2", SEND_MAX_ATTEMPTS="30"
    )
    try:
        tasks.dispatch(run_id, planned)
        wait_for(lambda: _state(run_id)[0] == RunState.paused, "the breaker to pause the run")
        assert "circuit breaker" in _state(run_id)[1]
        paused_at = len(standin.accepted())
        wait_for(lambda: run_done(run_id), "the run to finish", 120, paperboy_home / "worker.log")
    finally:
        stop(worker)
    assert paused_at < N
    assert not standin.behaviour.script  # the storm was sent into, then it passed
    each_sent_once(run_id, standin.delivered_to(), N)
