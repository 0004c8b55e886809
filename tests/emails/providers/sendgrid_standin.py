"""A SendGrid stand-in on 127.0.0.1, for the tests and `bench/bench_send.py`.

`POST /v3/mail/send` to the documented v3 contract: a Bearer key, a JSON body with
personalizations / from / subject / content (text/plain before text/html) -> 202 Accepted,
empty body, an `X-Message-Id` header; any error -> `{"errors": [{"message", "field", "help"}]}`.
It can answer 401 for everything (a bad key), 400 for chosen recipients, a scripted series of
429 (with Retry-After and X-RateLimit-Reset), 500, RESET (the connection reset, no answer) or
LOST (the message accepted, its events posted, then the connection reset instead of the
answer: what a client sees when the answer is lost on the way), and slowly; it can hang up
connections left idle (as load balancers do). Like the real one
it posts
signed events (`processed`, then `delivered`, or a `bounce` / `spamreport` for chosen
recipients) for every accepted message, our custom args as
top-level keys, to a webhook URL, in batches, signed by `SendGridSigner` (ECDSA P-256 over
timestamp + body, a key pair generated in the test).

Run alone (the bench): `python -m tests.emails.providers.sendgrid_standin --port N --delay 0.05`.
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

API_KEY = "SG.test"
RESET = 0  # in a script: reset the connection instead of answering
LOST = 1  # in a script: accept the message (a 202 in the record, its events), then reset


class SendGridSigner:
    """Signs like SendGrid's Signed Event Webhook: ECDSA P-256/SHA-256 over timestamp + body."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        self.public_key = base64.b64encode(der).decode()  # as SendGrid's settings page shows it

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))  # fresh on each of SendGrid's posts
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }


@dataclass
class Received:
    at: float  # time.monotonic()
    email: str
    status: int
    ref: str | None
    payload: dict


@dataclass
class Behaviour:
    """What the stand-in answers; tests change it while it runs."""

    api_key: str = API_KEY
    delay: float = 0.0  # seconds before answering
    reject: dict[str, int] = field(default_factory=dict)  # recipient -> 400 / 413
    script: list[int] = field(default_factory=list)  # next (429, 500, RESET, LOST), then 202
    retry_after: float = 1.0  # on a 429
    auth_fail: bool = False  # 401 for everything: a revoked key
    # Accepted, then reported back: a hard bounce, a soft one (SendGrid "blocked"), a spam report
    bounce: set[str] = field(default_factory=set)
    block: set[str] = field(default_factory=set)
    complain: set[str] = field(default_factory=set)
    idle_timeout: float | None = None  # hang up (a reset) a connection idle this long


class Server(ThreadingHTTPServer):
    """Room for every connection a busy worker opens at once, as the real API has: with the
    default backlog of 5, a burst of new connections is reset and comes back as retries."""

    request_queue_size = 1024


class StandIn:
    def __init__(self, delay: float = 0.0, port: int = 0, keep_payloads: bool = True) -> None:
        self.behaviour = Behaviour(delay=delay)
        self.requests: list[Received] = []  # every request that reached us, any answer
        self.lock = threading.Lock()
        self.keep_payloads = keep_payloads
        self.webhook_url: str | None = None
        self.signer: SendGridSigner | None = None
        self.pending_events: list[dict] = []
        self.events_posted = 0
        self.server = Server(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._stop = threading.Event()

    # the record
    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.status == 202]

    def delivered_to(self) -> Counter:
        return Counter(r.email for r in self.accepted())

    # life
    def start(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._post_events, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def post_events_to(self, url: str, signer: SendGridSigner) -> None:
        self.webhook_url, self.signer = url, signer

    def _post_events(self) -> None:
        """Like SendGrid: events batched and posted a moment later, signed, retried on error."""
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(0.2):
                if not self.webhook_url or not self.pending_events:
                    continue
                with self.lock:
                    batch, self.pending_events = (
                        self.pending_events[:500],
                        self.pending_events[500:],
                    )
                body = (json.dumps(batch, separators=(",", ":")) + "\r\n").encode()
                try:
                    resp = client.post(
                        self.webhook_url, content=body, headers=self.signer.headers(body)
                    )
                    ok = resp.status_code < 300
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.events_posted += len(batch)
                else:
                    with self.lock:
                        self.pending_events[:0] = batch

    def _answer(self, headers, body: bytes) -> tuple[int, dict[str, str], dict | None]:
        b = self.behaviour
        if b.auth_fail or headers.get("Authorization") != f"Bearer {b.api_key}":
            return (
                401,
                {},
                _errors("The provided authorization grant is invalid, expired, or revoked"),
            )
        try:
            payload = json.loads(body)
            to = payload["personalizations"][0]["to"][0]["email"]
            assert payload["from"]["email"] and payload["subject"]
            types = [c["type"] for c in payload["content"]]
            assert types[0] == "text/plain" and "text/html" in types
        except (ValueError, KeyError, IndexError, TypeError, AssertionError):
            return 400, {}, _errors("Bad Request", field=None)
        with self.lock:
            scripted = b.script.pop(0) if b.script else None
        ref = payload.get("custom_args", {}).get("paperboy_ref")
        lost = scripted == LOST
        status = 202 if lost else scripted if scripted is not None else b.reject.get(to) or 202
        with self.lock:
            self.requests.append(
                Received(time.monotonic(), to, status, ref, payload if self.keep_payloads else {})
            )
        if status == RESET:
            return RESET, {}, None
        if status == 429:
            reset = str(int(time.time() + b.retry_after))
            extra = {"Retry-After": f"{b.retry_after:g}", "X-RateLimit-Reset": reset}
            return 429, extra, _errors("too many requests")
        if status == 400:
            return 400, {}, _errors("Does not contain a valid address.", "personalizations.0.to")
        if status == 413:
            return (
                413,
                {},
                _errors("The JSON payload you have included in your request is too large."),
            )
        if status >= 300:
            return status, {}, _errors("Internal error")
        message_id = uuid.uuid4().hex[:22]
        self._event(payload, to, message_id, "processed")
        if to in b.bounce or to in b.block:
            kind = "bounce" if to in b.bounce else "blocked"
            self._event(payload, to, message_id, "bounce", type=kind, reason="550 5.1.1 no user")
        else:
            self._event(payload, to, message_id, "delivered")
        if to in b.complain:
            self._event(payload, to, message_id, "spamreport")
        return (RESET if lost else 202), {"X-Message-Id": message_id}, None

    def _event(self, payload: dict, to: str, message_id: str, kind: str, **extra: str) -> None:
        if not self.webhook_url:
            return
        event = {
            "email": to,
            "timestamp": int(time.time()),
            "event": kind,
            "sg_event_id": uuid.uuid4().hex,
            "sg_message_id": f"{message_id}.filterdrecv-1",
            **extra,
            **payload.get("custom_args", {}),
        }
        with self.lock:
            self.pending_events.append(event)

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            @property
            def timeout(self) -> float | None:  # read when a connection is accepted
                return standin.behaviour.idle_timeout

            def finish(self) -> None:
                if self.close_connection and standin.behaviour.idle_timeout:  # idle: reset
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v3/mail/send":
                    return self._reply(404, {}, _errors("not found"))
                if standin.behaviour.delay:
                    time.sleep(standin.behaviour.delay)
                status, headers, answer = standin._answer(self.headers, body)
                if status == RESET:  # close with SO_LINGER 0: the client sees a reset
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.close_connection = True
                    return
                self._reply(status, headers, answer)

            def _reply(self, status: int, headers: dict[str, str], body: dict | None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler


def _errors(message: str, field: str | None = None) -> dict:
    return {"errors": [{"message": message, "field": field, "help": None}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    standin = StandIn(delay=args.delay, port=args.port, keep_payloads=False).start()
    print(standin.url, flush=True)
    try:
        while True:
            time.sleep(5)
    except KeyboardInterrupt:
        pass
    finally:
        total = standin.delivered_to()
        print(
            json.dumps(
                {"accepted": sum(total.values()), "duplicates": sum(n - 1 for n in total.values())}
            )
        )


if __name__ == "__main__":
    main()


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The stand-in, answering at once, with MAIL_BACKEND=sendgrid pointed at it."""
    from tests.conftest import reset_caches

    server = StandIn().start()
    monkeypatch.setenv("MAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("SENDGRID_API_URL", server.url)
    reset_caches()
    yield server
    server.stop()
