"""SMTP against a real peer (aiosmtpd), through the production path (send.send_chunk ->
backend): each failure ends in a retry or a recorded failure, never a silent drop or a
duplicate; a mis-typed SMTP_URL is refused without printing its password."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from config import ConfigError, get_settings
from emails.providers import get_backend
from emails.providers.smtp import redacted
from models import Digest, DigestStatus, session_scope, utcnow
from tests.conftest import reset_caches
from tests.worker.sending import address, digest, outcomes, plan_run
from worker.delivery import send
from worker.delivery.runs import UNANSWERED

PASSWORD = "s3cr3t-Pa55"


class Recorder:
    """aiosmtpd handler: records messages and the connections they came on; can answer RCPT
    with a scripted error."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.peers: set[tuple] = set()
        self.rcpt_reply: str | None = None
        self.lose_answer = False  # take the message, then drop the connection unanswered

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        self.peers.add(session.peer)
        if self.lose_answer:
            server.transport.abort()
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
    assert outcomes(run_id, planned) == ["sent"] * 4
    assert outcomes(run_id, planned) == []  # nothing left to claim: nobody gets two
    recipients = sorted(message_from_bytes(m, policy=default)["To"] for m in smtp_server.messages)
    assert recipients == [address(i) for i in range(4)]
    assert len(smtp_server.peers) == 1  # one SMTP connection carried the whole chunk


def test_smtp_transient_4xx_is_retried_later(smtp_server: Recorder) -> None:
    run_id, (digest_id,) = plan_run(1)
    smtp_server.rcpt_reply = "451 4.3.0 try again later"
    (result,) = send.send_chunk(run_id, [digest_id], settings=get_settings())
    assert result.outcome == "retry" and result.retry_at
    row = digest(digest_id)
    assert row.status == DigestStatus.planned and "451" in row.last_error
    assert row.next_attempt_at == result.retry_at  # not claimable before its retry time
    assert outcomes(run_id, [digest_id]) == []
    with session_scope() as session:  # its retry time comes
        session.get(Digest, digest_id).next_attempt_at = utcnow()
    smtp_server.rcpt_reply = None
    assert outcomes(run_id, [digest_id]) == ["sent"]
    assert len(smtp_server.messages) == 1


def test_smtp_connection_lost_after_the_data_is_unanswered_and_never_resent(
    smtp_server: Recorder,
) -> None:
    run_id, (digest_id,) = plan_run(1)
    smtp_server.lose_answer = True
    assert outcomes(run_id, [digest_id]) == ["retry"]
    assert len(smtp_server.messages) == 1  # not once more on a fresh connection
    row = digest(digest_id)
    assert row.status == DigestStatus.planned and row.fail_reason == UNANSWERED


def test_smtp_permanent_5xx_is_recorded_failed(smtp_server: Recorder) -> None:
    run_id, (digest_id,) = plan_run(1)
    smtp_server.rcpt_reply = "550 5.1.1 no such user"
    assert outcomes(run_id, [digest_id]) == ["failed"]
    row = digest(digest_id)
    assert row.status == DigestStatus.failed and "550" in row.last_error
    assert row.fail_reason == "smtp_550"
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    "url",
    [
        f"smpt://mailer:{PASSWORD}@mail.example.org:587",  # scheme mis-typed
        f"smtp://mailer:{PASSWORD}@:587",  # no host
        f"smtp://mailer:{PASSWORD}@mail.example.org:58x",  # port not a number
        f"smtp://mailer:{PASSWORD}/x@mail.example.org",  # an unquoted '/' in the password
        f"smtp:/mailer:{PASSWORD}@mail.example.org",  # one slash
        f"smtp://mailer:{PASSWORD}",  # no host at all: the password reads as a port
        f"smtp//mailer:{PASSWORD}",
    ],
)
def test_mistyped_smtp_url_is_refused_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    monkeypatch.setenv("SMTP_URL", url)
    reset_caches()
    run_id, planned = plan_run(1)
    with pytest.raises(ConfigError, match="SMTP_URL must look like") as refused:
        send.send_chunk(
            run_id, planned, settings=get_settings()
        )  # the worker's path: its log shows this
    printed = "".join(traceback.format_exception(refused.value))
    assert "***" in printed and PASSWORD not in printed
    assert PASSWORD not in repr(get_settings())


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://mail.example.org:587", "smtp://mail.example.org:587"),
        ("smtp://user:p@ss@host:25", "smtp://user:***@host:25"),
        ("smtps://user@host", "smtps://user:***@host"),
        ("smtp://user:pa:ss", "smtp://user:***"),
    ],
)
def test_redacted_keeps_what_helps_and_masks_what_may_be_a_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_smtp_without_a_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    reset_caches()
    with pytest.raises(ConfigError, match="MAIL_BACKEND=smtp needs SMTP_URL"):
        get_backend(get_settings())
