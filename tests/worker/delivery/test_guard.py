"""The deliverability guard: a run pauses itself when hard bounces or spam complaints over a
sliding window of its recent sends pass their thresholds; soft bounces never pause it; an
operator's resume starts the window afresh. Pure rules first, then the database edge, then
the whole path: the SendGrid stand-in posting signed bounce and spam-report events to the web
app while a Celery worker sends from PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from config import Settings, get_settings
from emails.providers.base import EventType, TrackingEvent
from models import Digest, DigestStatus, RunState, SendRun, session_scope, utcnow
from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import API_KEY, SendGridSigner, StandIn
from tests.worker.processes import WebApp, start_worker, stop, wait_for
from tests.worker.sending import address, plan_run
from worker import tasks
from worker.delivery import events, guard, runs
from worker.delivery.policy import Window
from worker.delivery.policy import guard as judge

SETTINGS = Settings(guard_min_sends=100, guard_window_sends=1000)


def test_defaults_follow_the_bulk_sender_rules() -> None:
    assert (Settings().guard_hard_bounce_rate, Settings().guard_complaint_rate) == (0.05, 0.003)


def test_hard_bounces_over_five_percent_pause_and_name_the_rate() -> None:
    assert judge(Window(sends=1000, hard_bounces=50), SETTINGS) is None  # at the limit: fine
    pause = judge(Window(sends=1000, hard_bounces=51), SETTINGS)
    assert pause is not None and pause.resume_at is None  # the operator decides
    assert "hard-bounce rate 5.1% (51 of the last 1000 sends) is over 5.0%" in pause.reason


def test_complaints_over_three_per_thousand_pause() -> None:
    assert judge(Window(sends=1000, complaints=3), SETTINGS) is None
    pause = judge(Window(sends=1000, complaints=4), SETTINGS)
    assert pause is not None and "spam-complaint rate 0.4%" in pause.reason


def test_soft_bounces_never_pause_and_too_few_sends_say_nothing() -> None:
    assert judge(Window(sends=1000, soft_bounces=900), SETTINGS) is None
    assert judge(Window(sends=99, hard_bounces=99, complaints=99), SETTINGS) is None


def _event(digest_id: int, kind: EventType, n: int, *, hard: bool = True) -> TrackingEvent:
    return TrackingEvent(
        provider="sendgrid",
        event_type=kind,
        event_id=f"ev-{digest_id}-{kind}-{n}",
        timestamp=utcnow(),
        recipient=address(digest_id),
        ref=f"digest-{digest_id}",
        effect=kind if hard else None,
    )


def _mark_sent(ids: list[int]) -> None:
    with session_scope() as session:
        runs.update_planned(session, ids, status=DigestStatus.sent, sent_at=utcnow())


def _state(run_id: int) -> SendRun:
    with session_scope() as session:
        run = session.get(SendRun, run_id)
        session.expunge(run)
        return run


def test_events_applied_pause_the_run_and_an_operator_resume_starts_a_fresh_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GUARD_MIN_SENDS", "10")
    reset_caches()
    run_id, planned = plan_run(24)
    _mark_sent(planned[:20])
    soft = [_event(d, EventType.bounced, 0, hard=False) for d in planned[:6]]
    with session_scope() as session:
        events.record(session, soft)
        assert guard.window(session, session.get(SendRun, run_id), get_settings()) == Window(
            sends=20, soft_bounces=6
        )
    assert _state(run_id).state == RunState.running  # 30% soft bounces: still sending
    with session_scope() as session:
        events.record(session, [_event(planned[10], EventType.complained, 1)])
    run = _state(run_id)
    assert run.state == RunState.paused
    assert "spam-complaint rate 5.0% (1 of the last 20 sends)" in run.pause_reason
    with session_scope() as session:
        assert runs.resume(session, run_id, operator=True)
        events.record(session, [_event(planned[11], EventType.complained, 2)])
        # the complaints are about sends before the resume: the fresh window holds none
        assert guard.window(session, session.get(SendRun, run_id), get_settings()).sends == 0
    assert _state(run_id).state == RunState.running


N = 3000


@pytest.fixture
def guarded(
    paperboy_home: Path, postgres_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, str], StandIn]]:
    """PostgreSQL, Redis, a Celery worker's environment and the web app taking the stand-in's
    signed events; sends held to 100/s so the events can come back while the run is going."""
    standin = StandIn().start()
    signer = SendGridSigner()
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-for-the-guard",
        "PAPERBOY_HOME": str(paperboy_home),
        "MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": API_KEY,
        "SENDGRID_API_URL": standin.url,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key,
        "SEND_RATE_PER_SECOND": "100",
        "SEND_CHUNK_SIZE": "100",
        "SEND_CONCURRENCY": "8",
        "GUARD_MIN_SENDS": "200",
        "GUARD_WINDOW_SENDS": "500",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    with WebApp() as web:
        standin.post_events_to(web.webhook_url, signer)
        yield env, standin
    standin.stop()


@pytest.mark.services
def test_one_hard_bounce_in_ten_pauses_the_run_and_resume_finishes_it(
    guarded, paperboy_home: Path
) -> None:
    env, standin = guarded
    standin.behaviour.bounce = {address(i) for i in range(0, N, 10)}
    run_id, planned = plan_run(N)
    log = paperboy_home / "worker.log"
    worker = start_worker(env, log, "--concurrency=2")
    try:
        tasks.dispatch(run_id, planned)
        wait_for(lambda: _state(run_id).state != RunState.running, "the guard", 120, log=log)
        run = _state(run_id)
        assert run.state == RunState.paused, run.state
        assert "deliverability guard: hard-bounce rate" in run.pause_reason
        assert "of the last" in run.pause_reason
        paused_at = len(standin.accepted())
        print(f"\nthe guard paused the run after {paused_at} of {N} sends")
        assert paused_at < N // 2, paused_at  # the rest of the list was never mailed
        standin.behaviour.bounce = set()  # the operator cleaned the list
        with session_scope() as session:
            assert runs.resume(session, run_id, operator=True)
            ids = runs.planned_ids(session, run_id)
        assert ids
        tasks.dispatch(run_id, ids)
        wait_for(lambda: _state(run_id).state == RunState.done, "the run to finish", 120, log=log)
    finally:
        stop(worker)
    delivered = standin.delivered_to()
    assert max(delivered.values()) == 1  # nobody twice
    with session_scope() as session:
        statuses = list(session.exec(select(Digest.status).where(Digest.run_id == run_id)))
    assert set(statuses) <= {DigestStatus.sent, DigestStatus.skipped}
    assert statuses.count(DigestStatus.sent) == sum(delivered.values()) > paused_at
