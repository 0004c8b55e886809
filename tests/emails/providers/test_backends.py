"""Mail backends against real peers: an aiosmtpd SMTP server and the SendGrid stand-in.

The production code path (send.send_chunk -> backend) is the one under test; each
provider failure ends in a retry, a recorded failure or a paused run, never a silent drop or
a duplicate.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from config import get_settings
from models import Digest, DigestStatus, session_scope, utcnow
from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import StandIn, standin
from tests.worker.sending import address, digest, plan_run
from worker.delivery import send

__all__ = ["standin"]


def _send(run_id: int, ids: list[int]) -> list[str]:
    results = send.send_chunk(run_id, ids, get_settings())
    return [r.outcome for r in sorted(results, key=lambda r: r.digest_id)]


class Recorder:
    """aiosmtpd handler: records messages and the connections they came on; can answer RCPT
    with a scripted error."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.peers: set[tuple] = set()
        self.rcpt_reply: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        self.peers.add(session.peer)
        return "250 Message accepted"


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    handler = Recorder()
    with socket.socket() as s:  # aiosmtpd needs a concrete port to probe its own readiness
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}")
    reset_caches()
    yield handler
    controller.stop()


def test_smtp_delivers_a_chunk_once_over_one_connection(smtp_server: Recorder) -> None:
    run_id, planned = plan_run(4)
    assert _send(run_id, planned) == ["sent"] * 4
    assert _send(run_id, planned) == []  # nothing left to claim: nobody gets two
    recipients = sorted(message_from_bytes(m, policy=default)["To"] for m in smtp_server.messages)
    assert recipients == [address(i) for i in range(4)]
    assert len(smtp_server.peers) == 1  # one SMTP connection carried the whole chunk


def test_smtp_transient_4xx_is_retried_later(smtp_server: Recorder) -> None:
    run_id, (digest_id,) = plan_run(1)
    smtp_server.rcpt_reply = "451 4.3.0 try again later"
    (result,) = send.send_chunk(run_id, [digest_id], get_settings())
    assert result.outcome == "retry" and result.retry_at
    row = digest(digest_id)
    assert row.status == DigestStatus.planned and "451" in row.last_error
    assert row.next_attempt_at == result.retry_at  # not claimable before its retry time
    assert _send(run_id, [digest_id]) == []
    with session_scope() as session:  # its retry time comes
        session.get(Digest, digest_id).next_attempt_at = utcnow()
    smtp_server.rcpt_reply = None
    assert _send(run_id, [digest_id]) == ["sent"]
    assert len(smtp_server.messages) == 1


def test_smtp_permanent_5xx_is_recorded_failed(smtp_server: Recorder) -> None:
    run_id, (digest_id,) = plan_run(1)
    smtp_server.rcpt_reply = "550 5.1.1 no such user"
    assert _send(run_id, [digest_id]) == ["failed"]
    row = digest(digest_id)
    assert row.status == DigestStatus.failed and "550" in row.last_error
    assert row.fail_reason == "smtp_550"
    assert smtp_server.messages == []


def test_sendgrid_payload_is_built_from_the_rendered_email(standin: StandIn) -> None:
    run_id, (digest_id,) = plan_run(1)
    assert _send(run_id, [digest_id]) == ["sent"]
    (request,) = standin.accepted()
    payload = request.payload
    assert payload["custom_args"] == {"paperboy_ref": f"digest-{digest_id}"}
    assert payload["categories"] == ["digest"]
    assert payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert payload["headers"]["List-Unsubscribe"].startswith("<http")
    assert [c["type"] for c in payload["content"]] == ["text/plain", "text/html"]
    assert payload["personalizations"][0]["to"] == [{"email": address(0)}]
    assert payload["from"] == {"email": "digest@paperboy.example", "name": "Paperboy"}
    assert digest(digest_id).provider_message_id  # the X-Message-Id the stand-in answered


@pytest.mark.parametrize("status", [500, 503, 429])
def test_sendgrid_retryable_status_then_success_sends_once(standin: StandIn, status: int) -> None:
    run_id, (digest_id,) = plan_run(1)
    standin.behaviour.script = [status]
    standin.behaviour.retry_after = 0.2
    settings = get_settings().model_copy(update={"send_retry_base_seconds": 0.2})
    results = send.send_chunk(run_id, [digest_id], settings, in_process=True)
    assert [r.outcome for r in results] == ["sent"]
    assert [r.status for r in standin.requests] == [status, 202]
    row = digest(digest_id)
    assert row.status == DigestStatus.sent and row.attempts == 2


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "personalizations.0.to: Does not contain a valid address."),
        (413, "The JSON payload you have included in your request is too large."),
    ],
)
def test_sendgrid_permanent_error_fails_only_that_digest_with_the_providers_message(
    standin: StandIn, status: int, message: str
) -> None:
    run_id, planned = plan_run(3)
    standin.behaviour.reject = {address(1): status}
    assert _send(run_id, planned) == ["sent", "failed", "sent"]
    row = digest(planned[1])
    assert row.status == DigestStatus.failed and row.fail_reason == f"sendgrid_{status}"
    assert message in row.last_error
    assert sorted(standin.delivered_to()) == [address(0), address(2)]


def test_sendgrid_retries_stop_after_max_attempts(standin: StandIn, monkeypatch) -> None:
    monkeypatch.setenv("SEND_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SEND_RETRY_BASE_SECONDS", "0.1")
    reset_caches()
    run_id, (digest_id,) = plan_run(1)
    standin.behaviour.script = [503, 503]
    results = send.send_chunk(run_id, [digest_id], get_settings(), in_process=True)
    assert [r.outcome for r in results] == ["failed"]
    assert digest(digest_id).fail_reason == "attempts"
    assert standin.accepted() == []


def test_sendgrid_unreachable_is_retried(monkeypatch) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test")
    monkeypatch.setenv("SENDGRID_API_URL", "http://127.0.0.1:9")  # discard port: refused
    reset_caches()
    run_id, (digest_id,) = plan_run(1)
    (result,) = send.send_chunk(run_id, [digest_id], get_settings())
    assert result.outcome == "retry" and "request failed" in result.detail


def test_outbox_eml_is_rfc5322(paperboy_home: Path) -> None:
    run_id, (digest_id,) = plan_run(1)
    assert _send(run_id, [digest_id]) == ["sent"]
    raw = (paperboy_home / "outbox" / f"digest-{digest_id}.eml").read_bytes()
    assert b"\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")
    msg = message_from_bytes(raw, policy=default)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Id"):
        assert msg[header], header
