"""The SendGrid transport against the stand-in: kept-alive connections, an idle connection the
server hung up, a reset after the request was written (never sent twice), a timeout; and the
v3 body as a plain dict, the shape SendGrid's own helpers give."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from sendgrid.helpers.mail import Category, CustomArg, From, Header, Mail, To

from emails.providers import MailError, is_retryable, keepalive, sendgrid
from emails.providers.base import Envelope
from emails.providers.sendgrid import RESERVED, SendGridBackend, payload
from emails.render import RenderedEmail
from tests.emails.providers.sendgrid_standin import API_KEY, RESET, StandIn


def envelope(to: str = "reader@example.org", sender: str = "Paperboy <d@paperboy.example>"):
    rendered = RenderedEmail(
        subject="3 new papers on graph neural networks — and “more”",
        html="<p>Hello ü</p>",
        text="Hello ü",
        headers={
            "List-Unsubscribe": "<https://x.example/u/t>, <mailto:u@x.example>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": "Paperboy digest <digest.paperboy.example>",
            "Message-ID": "<not-a-header-sendgrid-takes@x>",
        },
    )
    return Envelope(rendered, to, sender, "digest-7", "<digest-7@paperboy.example>", None, "digest")


@pytest.fixture
def server() -> Iterator[StandIn]:
    standin = StandIn().start()
    yield standin
    standin.stop()


def backend(server: StandIn, timeout: float = 5.0) -> SendGridBackend:
    keepalive._ORIGINS.clear()  # a fresh origin per test: its count of opened connections
    return SendGridBackend(API_KEY, server.url, timeout=timeout, concurrency=4)


@pytest.mark.parametrize("sender", ["Paperboy <d@paperboy.example>", "d@paperboy.example"])
@pytest.mark.parametrize("category", ["digest", ""])
def test_payload_is_the_shape_sendgrids_helpers_give(sender: str, category: str) -> None:
    env = envelope(sender=sender)
    env = Envelope(env.rendered, env.to, env.sender, env.ref, env.message_id, None, category)
    name, addr = sender[:-1].split(" <") if "<" in sender else (None, sender)
    mail = Mail(
        from_email=From(addr, name),
        to_emails=To(env.to),
        subject=env.rendered.subject,
        plain_text_content=env.rendered.text,
        html_content=env.rendered.html,
    )
    mail.header = [
        Header(k, v) for k, v in env.rendered.headers.items() if k.lower() not in RESERVED
    ]
    mail.custom_arg = CustomArg("paperboy_ref", env.ref)
    if category:
        mail.category = Category(category)
    assert payload(env) == mail.get()


def test_requests_share_one_kept_alive_connection(server: StandIn) -> None:
    sender = backend(server)
    for _ in range(5):
        assert sender.send(envelope())
    assert sender.origin.opened == 1
    assert len(server.accepted()) == 5


def test_a_connection_the_server_hung_up_while_idle_is_replaced(server: StandIn) -> None:
    server.behaviour.idle_timeout = 0.2
    sender = backend(server)
    assert sender.send(envelope())
    time.sleep(0.6)  # the server resets the idle connection
    assert sender.send(envelope())
    assert sender.origin.opened == 2
    assert len(server.requests) == 2  # each sent once


def test_a_request_that_could_not_be_written_goes_once_more(
    server: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idle check missed the hang-up (a race): writing fails, the request was never whole
    at the server, so it goes again on a fresh connection."""
    server.behaviour.idle_timeout = 0.2
    sender = backend(server)
    assert sender.send(envelope())
    time.sleep(0.6)
    monkeypatch.setattr(keepalive, "hung_up", lambda conn: False)
    assert sender.send(envelope())
    assert sender.origin.opened == 2
    assert len(server.requests) == 2


def test_a_reset_after_the_request_was_written_is_never_sent_again(server: StandIn) -> None:
    server.behaviour.script = [RESET]
    sender = backend(server)
    with pytest.raises(MailError, match="no answer") as caught:
        sender.send(envelope())
    assert isinstance(caught.value.__cause__, keepalive.Unanswered)
    assert caught.value.__cause__.written
    assert caught.value.unanswered  # the provider may have it: its evidence decides
    assert len(server.requests) == 1  # the transport did not resend it
    assert is_retryable(caught.value)  # the delivery policy's call (a retry later, or failed)
    assert sender.send(envelope())  # and the next request opens a fresh connection
    assert sender.origin.opened == 2


def test_a_timeout_is_unanswered_and_not_sent_again(server: StandIn) -> None:
    server.behaviour.delay = 1.0
    sender = backend(server, timeout=0.2)
    with pytest.raises(MailError, match="no answer") as caught:
        sender.send(envelope())
    assert caught.value.unanswered
    time.sleep(1.0)  # the stand-in finishes the request it had
    assert len(server.requests) == 1


def test_a_wave_is_sent_from_one_thread_each_request_on_its_connection(server: StandIn) -> None:
    """`send_all`: every request written, then the answers read; each has its own result, in
    order, and the connections are kept for the next wave."""
    server.behaviour.reject = {"bad@example.org": 400}
    sender = backend(server)
    wave = [envelope(to) for to in ("a@example.org", "bad@example.org", "c@example.org")]
    first = sender.send_all(wave)
    assert isinstance(first[0], str) and isinstance(first[2], str)
    assert isinstance(first[1], MailError) and first[1].status == 400
    assert all(isinstance(r, str) for r in sender.send_all([wave[0], wave[2], wave[0]]))
    assert sender.origin.opened == 3
    assert len(server.requests) == 6


def test_a_reset_in_a_wave_is_unanswered_for_that_request_alone(server: StandIn) -> None:
    server.behaviour.script = [RESET]
    sender = backend(server)
    results = sender.send_all([envelope(f"r{i}@example.org") for i in range(4)])
    lost = [r for r in results if isinstance(r, MailError)]
    assert len(lost) == 1 and lost[0].unanswered
    assert sum(isinstance(r, str) for r in results) == 3
    assert len(server.requests) == 4  # none sent again


def test_a_wave_that_times_out_is_unanswered_and_not_sent_again(server: StandIn) -> None:
    server.behaviour.delay = 1.0
    sender = backend(server, timeout=0.2)
    results = sender.send_all([envelope(f"r{i}@example.org") for i in range(3)])
    assert all(isinstance(r, MailError) and r.unanswered for r in results)
    time.sleep(1.5)  # the stand-in finishes the requests it had
    assert len(server.requests) == 3


def test_a_wave_that_cannot_be_written_gives_up_within_one_timeout() -> None:
    """A server that takes connections but never reads: the first request cannot be written
    within the timeout, and the rest of the wave is not tried after it (one timeout for the
    whole wave, as concurrent posts would take), each unwritten."""
    listener = socket.create_server(("127.0.0.1", 0))  # never accepts nor reads
    origin = keepalive.Origin(f"http://127.0.0.1:{listener.getsockname()[1]}", {}, 0.3)
    results = keepalive.post_all(origin, "/v3/mail/send", [b"x" * 32_000_000] * 3)
    assert all(isinstance(r, keepalive.Unanswered) and not r.written for r in results)
    assert origin.opened == 1
    origin.close()
    listener.close()


def test_a_request_that_cannot_be_built_fails_alone(
    server: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sendgrid.encoded
    monkeypatch.setattr(
        sendgrid, "encoded", lambda e: real(e) if e.to != "bad@example.org" else 1 / 0
    )
    results = backend(server).send_all([envelope("bad@example.org"), envelope()])
    assert isinstance(results[0], MailError) and not is_retryable(results[0])
    assert isinstance(results[1], str)
    assert len(server.requests) == 1


def test_a_refused_connection_is_unanswered_and_unwritten() -> None:
    origin = keepalive.Origin("http://127.0.0.1:9", {}, 2.0)  # the discard port: refused
    with pytest.raises(keepalive.Unanswered) as caught:
        keepalive.post(origin, "/v3/mail/send", b"{}")
    assert not caught.value.written


@pytest.mark.parametrize(
    ("answer", "body", "kept"),
    [
        (b"HTTP/1.1 429 Too Many\r\nretry-after: 7\r\nContent-Length: 2\r\n\r\nno", b"no", True),
        (  # a chunked body with an extension and a trailer
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
            b"3;x=1\r\nab \r\n2\r\ncd\r\n0\r\nX-Trailer: 1\r\n\r\n",
            b"ab cd",
            True,
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 202 OK\r\nRetry-after: 7\r\n\r\nrest",
            b"rest",
            False,
        ),
        (
            b"HTTP/1.1 202 OK\r\nConnection: close\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n",
            b"",
            False,
        ),
    ],
)
def test_an_answer_is_read_whole_whatever_its_framing(
    answer: bytes, body: bytes, kept: bool
) -> None:
    ours, theirs = socket.socketpair()
    theirs.sendall(answer[:9])  # in two pieces: the reader waits for the rest
    theirs.sendall(answer[9:])
    if not kept:
        theirs.shutdown(socket.SHUT_WR)
    read, keep = keepalive.read_answer(ours)
    assert (read.body, keep) == (body, kept)
    assert read.headers["RETRY-AFTER"] == "7" and "retry-after" in read.headers
    ours.close()
    theirs.close()


def test_an_answer_cut_short_is_unanswered() -> None:
    ours, theirs = socket.socketpair()
    theirs.sendall(b"HTTP/1.1 202 OK\r\nContent-Length: 10\r\n\r\nabc")
    theirs.close()
    with pytest.raises(ConnectionResetError):
        keepalive.read_answer(ours)
    ours.close()
