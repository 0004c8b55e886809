"""A request written whole that got no answer may have been accepted: it is never posted again
blindly. The provider's events settle it; without them it waits SEND_UNANSWERED_WAIT_SECONDS,
then SEND_UNRESOLVED decides; a request never written retries as any network error. Counted
at the SendGrid stand-in, with a real Celery worker (no beat) where the run is a worker's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from cli.main import app
from config import get_settings
from models import Digest, DigestStatus, session_scope, utcnow
from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import LOST, StandIn, standin
from tests.worker.processes import free_port, start_worker, stop, wait_for
from tests.worker.sending import address, digest, outcomes, plan_run, run_done, statuses
from worker import tasks
from worker.delivery import events
from worker.delivery.runs import UNANSWERED

__all__ = ["standin"]
runner = CliRunner()
N = 6


def _lost(standin: StandIn) -> int:
    """The digest whose request met the scripted LOST: the first to reach the stand-in."""
    return int(standin.requests[0].ref.removeprefix("digest-"))


def _posts(standin: StandIn, digest_id: int) -> list[float]:
    """When each request for this digest reached the stand-in (accepted or not)."""
    return [r.at for r in standin.requests if r.ref == f"digest-{digest_id}"]


def _worker(env: dict[str, str], home: Path, **extra: str):
    """The Procfile's worker, without -B: no reaper, only the send task's own countdowns."""
    return start_worker({**env, **extra}, home / "worker.log", "--concurrency=2")


@pytest.mark.services
def test_an_accepted_send_whose_answer_was_lost_reaches_the_reader_once(
    delivery_env, paperboy_home: Path
) -> None:
    env, standin = delivery_env
    run_id, planned = plan_run(N)
    standin.behaviour.script = [LOST]  # the first request: accepted, events posted, reset
    worker = _worker(env, paperboy_home, SEND_UNANSWERED_WAIT_SECONDS="600")
    try:
        tasks.dispatch(run_id, planned)
        # sent long before the wait is over: only the provider's events can have settled it
        wait_for(lambda: statuses(run_id) == {"sent": N}, "every digest sent", 60)
    finally:
        stop(worker)
    digest_id = _lost(standin)
    assert len(_posts(standin, digest_id)) == 1  # never posted again
    assert standin.delivered_to() == {address(i): 1 for i in range(N)}
    row = digest(digest_id)
    assert row.attempts == 1 and row.fail_reason is None
    assert row.provider_message_id.endswith(".filterdrecv-1")  # from the provider's event


@pytest.mark.services
@pytest.mark.parametrize("policy", ["resend", "fail"])
def test_with_no_events_an_unanswered_send_waits_then_follows_send_unresolved(
    delivery_env, paperboy_home: Path, policy: str
) -> None:
    env, standin = delivery_env
    standin.webhook_url = None  # no events come back (the webhook not set up)
    run_id, planned = plan_run(N)
    standin.behaviour.script = [LOST]
    wait = 2.0
    worker = _worker(
        env, paperboy_home, SEND_UNANSWERED_WAIT_SECONDS=str(wait), SEND_UNRESOLVED=policy
    )
    try:
        tasks.dispatch(run_id, planned)
        wait_for(lambda: run_done(run_id), "the run to finish", 60, paperboy_home / "worker.log")
    finally:
        stop(worker)
    digest_id = _lost(standin)
    posts = _posts(standin, digest_id)
    row = digest(digest_id)
    if policy == "resend":
        assert len(posts) == 2 and posts[1] - posts[0] >= wait  # once more, after the wait
        assert statuses(run_id) == {"sent": N} and row.attempts == 2
    else:
        assert len(posts) == 1
        assert statuses(run_id) == {"sent": N - 1, "failed": 1}
        assert row.fail_reason == "unresolved" and row.attempts == 1
        status = runner.invoke(app, ["runs", "status"], env={"COLUMNS": "200"})
        assert f"digest {digest_id}: " in status.output


@pytest.mark.services
def test_a_request_never_written_retries_as_any_network_error(
    delivery_env, paperboy_home: Path
) -> None:
    env, _ = delivery_env
    run_id, planned = plan_run(N)
    port = free_port()  # nothing listens there yet: every connection is refused
    worker = _worker(
        env,
        paperboy_home,
        SENDGRID_API_URL=f"http://127.0.0.1:{port}",
        SEND_UNANSWERED_WAIT_SECONDS="600",  # were it taken as unanswered, the run would wait
        SEND_MAX_ATTEMPTS="30",
        SEND_BREAKER_COOLDOWN_SECONDS="1",
    )
    later: StandIn | None = None  # bound only once the refusals are seen
    try:
        tasks.dispatch(run_id, planned)
        wait_for(lambda: _reasons(planned) == {"transient"}, "every first attempt refused", 60)
        later = StandIn(port=port).start()  # the provider is back
        wait_for(lambda: run_done(run_id), "the run to finish", 60, paperboy_home / "worker.log")
    finally:
        stop(worker)
        if later is not None:
            later.stop()
    assert later.delivered_to() == {address(i): 1 for i in range(N)}
    assert statuses(run_id) == {"sent": N}


def _reasons(digest_ids: list[int]) -> set[str | None]:
    with session_scope() as session:
        return set(
            session.exec(select(Digest.fail_reason).where(col(Digest.id).in_(digest_ids))).all()
        )


def test_an_unanswered_send_is_counted_as_awaiting_and_settled_by_an_event(
    standin: StandIn,
) -> None:
    run_id, planned = plan_run(2)
    standin.behaviour.script = [LOST]
    assert sorted(outcomes(run_id, planned)) == ["retry", "sent"]
    digest_id = _lost(standin)
    row = digest(digest_id)
    assert row.status == DigestStatus.planned and row.fail_reason == UNANSWERED
    wait = get_settings().send_unanswered_wait_seconds
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=wait - 5)
    status = runner.invoke(app, ["runs", "status"], env={"COLUMNS": "200"})
    line = next(line for line in status.output.splitlines() if "awaiting the provider" in line)
    assert line.rstrip(" │").split()[-1] == "1"
    _processed(digest_id)  # SendGrid's `processed` arrives: it has it
    assert digest(digest_id).status == DigestStatus.sent
    assert outcomes(run_id, planned) == []  # nothing left to post
    assert len(_posts(standin, digest_id)) == 1


def test_a_retry_the_provider_already_has_is_recorded_sent_not_posted_again(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEND_RETRY_BASE_SECONDS", "0.01")
    reset_caches()
    run_id, (digest_id,) = plan_run(1)
    standin.behaviour.script = [500]
    assert outcomes(run_id, [digest_id]) == ["retry"]
    _processed(digest_id)  # late evidence (a 500 from a proxy after all): not settled yet
    assert digest(digest_id).status == DigestStatus.planned
    with session_scope() as session:  # its retry time comes
        session.get(Digest, digest_id).next_attempt_at = utcnow()
    assert outcomes(run_id, [digest_id]) == ["sent"]  # read again just before posting
    assert len(_posts(standin, digest_id)) == 1
    row = digest(digest_id)
    assert row.status == DigestStatus.sent and row.attempts == 1


def _processed(digest_id: int) -> None:
    from emails.providers.base import EventType, TrackingEvent

    with session_scope() as session:
        events.record(
            session,
            [
                TrackingEvent(
                    provider="sendgrid",
                    event_type=EventType.queued,
                    event_id=f"ev-{digest_id}",
                    timestamp=utcnow(),
                    recipient=address(0),
                    message_id=f"sg-{digest_id}",
                    ref=f"digest-{digest_id}",
                )
            ],
        )
