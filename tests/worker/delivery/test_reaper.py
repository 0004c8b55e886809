"""The reaper settles what a dead worker left in `sending`: by the provider's events first,
then by SEND_UNRESOLVED; `paperboy runs status` lists the unresolved, `runs resend` sends them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from cli.main import app
from config import get_settings
from emails.providers.base import EventType, TrackingEvent
from models import Digest, session_scope, utcnow
from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import StandIn, standin
from tests.worker.sending import address, digest, plan_run, statuses
from worker.delivery import events, reaper, send

__all__ = ["standin"]
runner = CliRunner()


def _crash_mid_wave(run_id: int, ids: list[int]) -> None:
    """What a SIGKILL leaves: claimed, never recorded (a while ago)."""
    with session_scope() as session:
        assert send.claim(session, run_id, ids, utcnow() - timedelta(hours=1)) == sorted(ids)


def _event(digest_id: int, kind: EventType, reason: str | None = None) -> None:
    with session_scope() as session:
        events.record(
            session,
            [
                TrackingEvent(
                    provider="sendgrid",
                    event_type=kind,
                    event_id=f"ev-{digest_id}-{kind}",
                    timestamp=utcnow(),
                    recipient=f"r{digest_id}@x.org",
                    message_id=f"sg-{digest_id}",
                    reason=reason,
                    ref=f"digest-{digest_id}",
                )
            ],
        )


def test_stale_sends_are_settled_by_provider_evidence_then_policy(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEND_UNRESOLVED", "fail")
    reset_caches()
    run_id, planned = plan_run(4)
    # Evidence that arrived while the digests were not `sending` (an earlier attempt's late
    # events) settles nothing then; evidence arriving during a send settles it at once.
    _event(planned[0], EventType.queued)  # SendGrid "processed": it has it
    _event(planned[1], EventType.rejected, "Bounced Address")  # "dropped"
    _crash_mid_wave(run_id, planned[:3])
    with session_scope() as session:
        result = reaper.reap(session, get_settings(), utcnow())
    assert (result.settled_sent, result.settled_failed, result.unresolved) == (1, 1, 1)
    assert digest(planned[0]).status == "sent"
    assert digest(planned[0]).provider_message_id == f"sg-{planned[0]}"
    assert digest(planned[1]).fail_reason == "dropped"
    assert digest(planned[2]).fail_reason == "unresolved"
    assert result.requeue == {run_id: [planned[3]]}  # never queued: handed out now
    status = runner.invoke(app, ["runs", "status"], env={"COLUMNS": "200"})
    assert f"digest {planned[2]}: {address(2)}" in status.output
    assert f"paperboy runs resend {run_id}" in status.output
    resend = runner.invoke(app, ["runs", "resend", str(run_id)])
    assert resend.exit_code == 0, resend.output
    assert standin.delivered_to() == {address(2): 1}
    assert statuses(run_id) == {"sent": 2, "failed": 1, "planned": 1}


def test_unresolved_sends_are_resent_by_default_never_before_their_time(
    standin: StandIn,
) -> None:
    assert get_settings().send_unresolved == "resend"
    run_id, planned = plan_run(2)
    _crash_mid_wave(run_id, planned[:1])
    with session_scope() as session:  # the other waits for a retry a minute from now
        session.get(Digest, planned[1]).next_attempt_at = utcnow() + timedelta(minutes=1)
    with session_scope() as session:  # not stale yet: left alone
        assert (
            reaper.reap(session, get_settings(), utcnow() - timedelta(minutes=50)).unresolved == 0
        )
    with session_scope() as session:
        result = reaper.reap(session, get_settings(), utcnow())
    assert result.unresolved == 1 and result.requeue == {run_id: [planned[0]]}
    assert digest(planned[0]).status == "planned"


def test_a_send_that_keeps_dying_stops_at_max_attempts(standin: StandIn) -> None:
    run_id, planned = plan_run(1)
    with session_scope() as session:
        session.get(Digest, planned[0]).attempts = get_settings().send_max_attempts - 1
    _crash_mid_wave(run_id, planned)  # the claim is its last attempt
    with session_scope() as session:
        assert reaper.reap(session, get_settings(), utcnow()).unresolved == 1
    assert digest(planned[0]).fail_reason == "unresolved"
