"""Delivery under provider trouble, through the real path (runs, chunks, waves, the CLI) against
the SendGrid stand-in: a revoked key pauses, a 429 storm is waited out with spread retries, a
failing provider trips the breaker, a pause stops sending and a resume finishes the run, an
unsubscribe mid-run is honoured. Embedded mode: no broker, sends in-process."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from cli.main import app
from config import get_settings
from emails.providers import get_backend
from models import (
    RunState,
    SendRun,
    Subscriber,
    SubscriberStatus,
    get_engine,
    session_scope,
    subscribers,
    utcnow,
)
from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import StandIn, standin
from tests.worker.sending import address, digest, plan_run, statuses
from worker.delivery import reaper, runs, send

__all__ = ["standin"]
runner = CliRunner()


def _run(run_id: int) -> SendRun:
    with session_scope() as session:
        return session.get(SendRun, run_id)


def _fast(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("SEND_RETRY_BASE_SECONDS", "0.2")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()


def test_revoked_key_pauses_the_run_and_resume_delivers_each_once(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast(monkeypatch)
    run_id, planned = plan_run(6)
    standin.behaviour.auth_fail = True
    result = runner.invoke(app, ["send"])
    assert result.exit_code == 0, result.output
    assert _run(run_id).state == RunState.paused
    assert statuses(run_id) == {"planned": 6}  # nothing burnt: no digest failed
    assert all(digest(d).attempts == 0 for d in planned)  # a refused key is no attempt
    assert len(standin.requests) <= get_settings().send_concurrency  # stopped at the first wave
    status = runner.invoke(app, ["runs", "status"], env={"COLUMNS": "200"})
    assert "check SENDGRID_API_KEY" in status.output
    standin.behaviour.auth_fail = False  # the key is fixed
    resumed = runner.invoke(app, ["runs", "resume", str(run_id)])
    assert resumed.exit_code == 0, resumed.output
    assert standin.delivered_to() == {address(i): 1 for i in range(6)}
    assert _run(run_id).state == RunState.done
    assert "sent" in resumed.output


def test_429_storm_is_waited_out_with_spread_retries(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast(monkeypatch, SEND_RETRY_BASE_SECONDS="1")
    run_id, planned = plan_run(12)
    standin.behaviour.retry_after = 1.0
    standin.behaviour.script = [429] * 12
    before = utcnow()
    first = send.send_chunk(run_id, planned, settings=get_settings())
    assert {r.outcome for r in first} == {"retry"}
    retry_times = sorted(digest(d).next_attempt_at for d in planned)
    assert retry_times[0] >= before + timedelta(seconds=1)  # Retry-After honoured
    assert len(set(retry_times)) == 12  # jitter: no two retries at the same moment
    assert retry_times[-1] - retry_times[0] > timedelta(seconds=0.25)  # spread, not a burst
    results = send.send_chunk(run_id, planned, settings=get_settings(), in_process=True)
    assert {r.outcome for r in results} == {"sent"}
    assert standin.delivered_to() == {address(i): 1 for i in range(12)}
    retries = [r.at for r in standin.requests if r.status == 202]
    assert len({round(t, 1) for t in retries}) > 1  # they came back spread, not as one burst


def test_embedded_send_retries_in_process_until_every_digest_is_settled(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two 429s no longer leave two digests planned forever: `paperboy send` waits them out."""
    _fast(monkeypatch)
    run_id, _ = plan_run(3)
    standin.behaviour.retry_after = 0.3
    standin.behaviour.script = [429, 429]
    result = runner.invoke(app, ["send"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Run {run_id}: done" in result.output  # it ends with the run's counts
    assert re.search(r"\bsent\W+3\b", result.output)
    assert statuses(run_id) == {"sent": 3}
    assert standin.delivered_to() == {address(i): 1 for i in range(3)}
    assert _run(run_id).state == RunState.done


def test_embedded_retries_end_failed_with_a_reason_after_the_bounded_wait(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast(monkeypatch, SEND_IN_PROCESS_MAX_WAIT_SECONDS="0.5", SEND_BREAKER_THRESHOLD="100")
    run_id, planned = plan_run(2)
    standin.behaviour.script = [500] * 50
    send.send_chunk(run_id, planned, settings=get_settings(), in_process=True)
    assert statuses(run_id) == {"failed": 2}
    row = digest(planned[0])
    assert row.fail_reason == "gave_up" and "gave up after" in row.last_error
    assert _run(run_id).state == RunState.done


def test_breaker_pauses_after_transient_failures_and_resumes_by_itself(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast(monkeypatch, SEND_BREAKER_THRESHOLD="4", SEND_BREAKER_COOLDOWN_SECONDS="30")
    run_id, planned = plan_run(6)
    standin.behaviour.script = [503] * 6
    send.send_chunk(run_id, planned, settings=get_settings())
    run = _run(run_id)
    assert run.state == RunState.paused and "circuit breaker" in run.pause_reason
    assert statuses(run_id) == {"planned": 6}  # nothing failed
    with session_scope() as session:  # before the cool-down: still paused
        assert reaper.reap(session, get_settings(), utcnow()).resumed == []
    with session_scope() as session:
        later = run.resume_at + timedelta(seconds=1)
        result = reaper.reap(session, get_settings(), later)
    assert result.resumed == [run_id]
    assert sorted(result.requeue[run_id]) == sorted(planned)  # never before their retry time
    assert _run(run_id).state == RunState.running


def test_the_wave_claimed_while_one_pauses_the_run_goes_back_unsent(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next wave is claimed and rendered while one is out; when that one's answers trip
    the breaker, it goes back to planned unsent, its attempt not counted, and the wave after
    it was never claimed."""
    _fast(
        monkeypatch,
        SEND_CONCURRENCY="2",
        SEND_BREAKER_THRESHOLD="2",
        SEND_BREAKER_COOLDOWN_SECONDS="30",
    )
    run_id, planned = plan_run(6)
    standin.behaviour.script = [503] * 2
    results = send.send_chunk(run_id, planned, settings=get_settings())
    assert _run(run_id).state == RunState.paused and "circuit breaker" in _run(run_id).pause_reason
    assert len(standin.requests) == 2  # the first wave only
    out, claimed, never = (sorted(planned)[i : i + 2] for i in (0, 2, 4))
    assert sorted(r.digest_id for r in results) == out and {r.outcome for r in results} == {"retry"}
    assert [digest(d).attempts for d in out] == [1, 1]
    for d in claimed + never:
        row = digest(d)
        assert (row.status, row.attempts, row.queued_at) == ("planned", 0, None)
    assert all(digest(d).claimed_at is not None for d in claimed)  # taken while the first was out
    assert all(digest(d).claimed_at is None for d in never)


def _sending_until_accepted(
    standin: StandIn, run_id: int, planned: list[int], accepted: int
) -> threading.Thread:
    """The chunk sending in a thread; returns once the stand-in has accepted that many."""
    sender = threading.Thread(
        target=send.send_chunk, args=(run_id, planned), kwargs={"settings": get_settings()}
    )
    sender.start()
    deadline = time.monotonic() + 30
    while len(standin.accepted()) < accepted:
        assert time.monotonic() < deadline and sender.is_alive()
        time.sleep(0.01)
    return sender


def test_pause_mid_run_stops_sending_and_resume_sends_nobody_twice(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast(monkeypatch, SEND_CONCURRENCY="4")
    run_id, planned = plan_run(40)
    standin.behaviour.delay = 0.05
    sender = _sending_until_accepted(standin, run_id, planned, 8)
    assert runner.invoke(app, ["runs", "pause"]).exit_code == 0
    sender.join(timeout=30)
    assert not sender.is_alive()
    at_pause = len(standin.requests)
    assert at_pause < 40
    assert (
        send.send_chunk(run_id, planned, settings=get_settings()) == []
    )  # paused: nothing to claim
    assert len(standin.requests) == at_pause  # a paused run sends nothing
    assert _run(run_id).state == RunState.paused
    result = runner.invoke(app, ["runs", "resume"])
    assert result.exit_code == 0, result.output
    assert standin.delivered_to() == {address(i): 1 for i in range(40)}  # nobody twice or never
    assert _run(run_id).state == RunState.done


def test_unsubscribe_mid_run_means_no_email_afterwards(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast(monkeypatch, SEND_CONCURRENCY="2")
    run_id, planned = plan_run(20)
    standin.behaviour.delay = 0.03
    sender = _sending_until_accepted(standin, run_id, planned, 2)
    leaving = address(19)
    with session_scope() as session:
        subscribers.unsubscribe(session, subscribers.find(session, leaving), source="test")
        assert subscribers.find(session, leaving).status == SubscriberStatus.unsubscribed
    sender.join(timeout=30)
    assert leaving not in standin.delivered_to()
    assert sum(standin.delivered_to().values()) == 19
    with session_scope() as session:
        counts = runs.counts(session, session.get(SendRun, run_id))
    assert (counts.sent, counts.suppressed, counts.state) == (19, 1, "done")


@pytest.mark.parametrize("postgresql", [False, True], ids=["sqlite", "postgresql"])
def test_unsubscribe_between_claim_and_send_is_honoured(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, postgresql
) -> None:
    """The wave is claimed, then waits for the rate limit (1/s: 4 tokens from a bucket of 1);
    the reader who unsubscribes during that wait is not mailed (the last word, read in each
    database's form of its query)."""
    if postgresql:
        request.getfixturevalue("production")
    _fast(monkeypatch, SEND_CONCURRENCY="4", SEND_RATE_PER_SECOND="1")
    run_id, planned = plan_run(4)
    sender = threading.Thread(
        target=send.send_chunk, args=(run_id, planned), kwargs={"settings": get_settings()}
    )
    sender.start()
    deadline = time.monotonic() + 30
    while digest(planned[3]).status != "sending" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert digest(planned[3]).status == "sending" and standin.requests == []  # claimed, unsent
    with session_scope() as session:
        sub = session.get(Subscriber, digest(planned[3]).subscriber_id)
        leaving = sub.email
        subscribers.unsubscribe(session, sub, source="test")
    sender.join(timeout=60)
    assert len(standin.delivered_to()) == 3 and leaving not in standin.delivered_to()
    row = digest(planned[3])
    assert (row.status, row.fail_reason) == ("skipped", "suppressed")  # unsubscribe suppresses


def test_cancel_skips_what_is_unsent(standin: StandIn) -> None:
    run_id, _ = plan_run(3)
    result = runner.invoke(app, ["runs", "cancel", str(run_id)])
    assert result.exit_code == 0 and "3 unsent digests skipped" in result.output
    assert statuses(run_id) == {"skipped": 3}
    assert standin.requests == []


def test_a_digest_that_cannot_be_rendered_fails_alone(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, planned = plan_run(3)
    real = send.build_digest

    def broken_for_one(ctx):
        if ctx.to_email == address(1):
            raise ValueError("a paper the template cannot show")
        return real(ctx)

    monkeypatch.setattr(send, "build_digest", broken_for_one)
    send.send_chunk(run_id, planned, settings=get_settings())
    row = digest(planned[1])
    assert row.status == "failed" and row.fail_reason == "render"
    assert "cannot show" in row.last_error
    assert sorted(standin.delivered_to()) == [address(0), address(2)]


@pytest.mark.services
def test_a_wave_is_one_connection_and_one_statement_a_step(
    production: str, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wave on PostgreSQL: one pooled connection for its three transactions, the claim and
    the record one UPDATE each whatever the number of digests (no executemany)."""
    _fast(monkeypatch, SEND_CONCURRENCY="4")
    run_id, planned = plan_run(4)
    checkouts, updates = [], []
    engine = get_engine()
    event.listen(engine, "checkout", lambda *_: checkouts.append(1))

    def statement(conn, cursor, sql, parameters, context, executemany) -> None:
        if sql.startswith("UPDATE digest"):
            updates.append(executemany)

    event.listen(engine, "before_cursor_execute", statement)
    with ThreadPoolExecutor(1) as pool:
        results = send.send_wave(
            run_id, planned, settings=get_settings(), backend=get_backend(get_settings()), pool=pool
        )
    assert [r.outcome for r in results] == ["sent"] * 4
    assert len(checkouts) == 1
    assert updates == [False, False]  # the claim, the record of the four
