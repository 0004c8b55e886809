"""Mail backends against real peers: an aiosmtpd SMTP server and a local SendGrid v3 server.

The production code path (delivery.send_digest -> backend) is the one under test; each
provider failure ends in a retry or a recorded failure, never a silent drop or a duplicate.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from cli.demo import DEMO_SUBSCRIBERS
from config import get_settings
from models import Digest, DigestStatus, session_scope, subscribers, upgrade, utcnow
from tests.conftest import reset_caches
from worker import delivery
from worker.fetch import load_sample
from worker.planning import plan_edition


def _plan() -> list[int]:
    upgrade()
    load_sample()
    with session_scope() as session:
        for email, interests in DEMO_SUBSCRIBERS:
            subscribers.subscribe(session, email, interests=interests, confirmed=True)
    with session_scope() as session:
        return plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True).planned


def _status(digest_id: int) -> Digest:
    with session_scope() as session:
        return session.exec(select(Digest).where(Digest.id == digest_id)).one()


class Recorder:
    """aiosmtpd handler: records messages; can answer RCPT with a scripted error."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.rcpt_reply: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
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


def test_smtp_delivers_each_digest_once(smtp_server: Recorder) -> None:
    planned = _plan()
    results = [delivery.send_digest(d, get_settings()) for d in planned]
    assert [r.outcome for r in results] == ["sent"] * 3
    assert [delivery.send_digest(d, get_settings()).outcome for d in planned] == ["not_claimed"] * 3
    recipients = sorted(message_from_bytes(m, policy=default)["To"] for m in smtp_server.messages)
    assert recipients == sorted(e for e, _ in DEMO_SUBSCRIBERS)


def test_smtp_transient_4xx_is_retried_later(smtp_server: Recorder) -> None:
    digest_id = _plan()[0]
    smtp_server.rcpt_reply = "451 4.3.0 try again later"
    result = delivery.send_digest(digest_id, get_settings())
    assert result.outcome == "retry" and result.retry_in
    digest = _status(digest_id)
    assert digest.status == DigestStatus.planned and "451" in digest.last_error
    smtp_server.rcpt_reply = None
    assert delivery.send_digest(digest_id, get_settings()).outcome == "sent"
    assert len(smtp_server.messages) == 1


def test_smtp_permanent_5xx_is_recorded_failed(smtp_server: Recorder) -> None:
    digest_id = _plan()[0]
    smtp_server.rcpt_reply = "550 5.1.1 no such user"
    assert delivery.send_digest(digest_id, get_settings()).outcome == "failed"
    digest = _status(digest_id)
    assert digest.status == DigestStatus.failed and "550" in digest.last_error
    assert smtp_server.messages == []


class FakeSendGrid(BaseHTTPRequestHandler):
    """Speaks SendGrid v3 Mail Send: 202 + X-Message-Id, or a scripted error body."""

    script: ClassVar[list[int]] = []
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v3/mail/send" or self.headers["Authorization"] != "Bearer SG.test":
            return self._reply(401, {"errors": [{"message": "authorization required"}]})
        status = self.script.pop(0) if self.script else 202
        if status != 202:
            return self._reply(status, {"errors": [{"message": f"scripted {status}"}]})
        payload = json.loads(body)
        assert payload["personalizations"][0]["to"][0]["email"]
        FakeSendGrid.received.append(payload)
        self.send_response(202)
        self.send_header("X-Message-Id", f"sg-{len(self.received)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def sendgrid(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeSendGrid]]:
    FakeSendGrid.script, FakeSendGrid.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSendGrid)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("MAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test")
    monkeypatch.setenv("SENDGRID_API_URL", f"http://127.0.0.1:{server.server_port}")
    reset_caches()
    yield FakeSendGrid
    server.shutdown()


def test_sendgrid_send_carries_digest_ref_and_unsubscribe_headers(sendgrid) -> None:
    digest_id = _plan()[0]
    result = delivery.send_digest(digest_id, get_settings())
    assert result.outcome == "sent"
    assert _status(digest_id).provider_message_id == "sg-1"
    (payload,) = sendgrid.received
    assert payload["custom_args"] == {"paperboy_ref": f"digest-{digest_id}"}
    assert payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert {c["type"] for c in payload["content"]} == {"text/plain", "text/html"}


@pytest.mark.parametrize("status", [500, 503, 429])
def test_sendgrid_retryable_status_then_success_sends_once(sendgrid, status: int) -> None:
    digest_id = _plan()[0]
    sendgrid.script = [status]
    assert delivery.send_digest(digest_id, get_settings()).outcome == "retry"
    assert str(status) in _status(digest_id).last_error
    assert delivery.send_digest(digest_id, get_settings()).outcome == "sent"
    assert len(sendgrid.received) == 1


def test_sendgrid_4xx_is_permanent(sendgrid) -> None:
    digest_id = _plan()[0]
    sendgrid.script = [400]
    assert delivery.send_digest(digest_id, get_settings()).outcome == "failed"
    digest = _status(digest_id)
    assert digest.status == DigestStatus.failed and "scripted 400" in digest.last_error
    assert sendgrid.received == []


def test_sendgrid_retries_stop_after_max_attempts(sendgrid, monkeypatch) -> None:
    monkeypatch.setenv("SEND_MAX_ATTEMPTS", "2")
    reset_caches()
    digest_id = _plan()[0]
    sendgrid.script = [503, 503]
    outcomes = [delivery.send_digest(digest_id, get_settings()).outcome for _ in range(3)]
    assert outcomes == ["retry", "failed", "not_claimed"]


def test_sendgrid_unreachable_is_retried(monkeypatch) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test")
    monkeypatch.setenv("SENDGRID_API_URL", "http://127.0.0.1:9")  # discard port: refused
    reset_caches()
    digest_id = _plan()[0]
    result = delivery.send_digest(digest_id, get_settings())
    assert result.outcome == "retry" and "request failed" in result.detail


def test_outbox_eml_is_rfc5322(paperboy_home: Path) -> None:
    digest_id = _plan()[0]
    delivery.send_digest(digest_id, get_settings())
    raw = (paperboy_home / "outbox" / f"digest-{digest_id}.eml").read_bytes()
    assert b"\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")
    msg = message_from_bytes(raw, policy=default)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Id"):
        assert msg[header], header
