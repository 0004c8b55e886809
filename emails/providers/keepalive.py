"""Kept-alive HTTP/1.1 connections to one origin, with nothing but `http.client`.

A provider's API is one host answering small JSON posts, thousands a minute: a pooled client
library costs more CPU per request than the request itself. Here each thread takes an idle
connection (or opens one), posts, reads the whole answer and puts the connection back.

What a lost connection means is the caller's question, so the answer is exact:
- a connection the server hung up while it sat idle is noticed before it is used (the socket
  reads as closed) and replaced, and a request whose writing failed was never whole at the
  server: it goes once more on a fresh connection;
- once the request is written, a reset, a hang-up or a timeout is `Unanswered`, never sent
  again here: the server may have acted on it, and only the caller's policy may resend.
"""

from __future__ import annotations

import http.client
import os
import select
import ssl
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class Unanswered(OSError):
    """The request may have reached the server (`written`), but no answer came back."""

    def __init__(self, message: str, *, written: bool):
        super().__init__(message)
        self.written = written


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@dataclass
class Origin:
    """One scheme://host:port, its idle connections and the headers every request carries."""

    url: str
    headers: dict[str, str]
    timeout: float
    idle: list[http.client.HTTPConnection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    opened: int = 0  # connections opened so far: what keep-alive saves is visible

    def connect(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        self.opened += 1
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=_tls()
            )
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)

    def take(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection still open (and True), or a new one (and False)."""
        while True:
            with self.lock:
                conn = self.idle.pop() if self.idle else None
            if conn is None:
                return self.connect(), False
            if not hung_up(conn):
                return conn, True
            conn.close()

    def give_back(self, conn: http.client.HTTPConnection) -> None:
        with self.lock:
            self.idle.append(conn)

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


def hung_up(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection's socket reads: EOF (the server closed it) or stray bytes,
    either way not a connection to send on."""
    if conn.sock is None:
        return True
    poller = select.poll()  # poll, not select: any descriptor number
    try:
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def post(origin: Origin, path: str, body: bytes) -> Answer:
    """POST `body` and read the whole answer. Raises `Unanswered`; retries only a request
    that was never written whole (once, on a fresh connection)."""
    headers = origin.headers | {"Content-Length": str(len(body))}
    for attempt in range(2):
        conn, reused = origin.take()
        try:
            conn.request("POST", path, body, headers)
        except OSError as e:  # refused, reset or timed out while connecting or writing
            conn.close()
            if attempt == 0 and reused:
                continue  # the server had let it go: nothing of this request was acted on
            raise Unanswered(f"could not send: {e!r}", written=False) from e
        try:
            resp = conn.getresponse()
            answer = Answer(resp.status, resp.headers, resp.read())
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise Unanswered(f"no answer: {e!r}", written=True) from e
        if resp.will_close:
            conn.close()
        else:
            origin.give_back(conn)
        return answer
    raise AssertionError("unreachable")


_ORIGINS: dict[tuple, Origin] = {}
_ORIGINS_LOCK = threading.Lock()


def origin(url: str, headers: dict[str, str], timeout: float) -> Origin:
    """The process's one `Origin` for these settings (connections are never shared across a
    fork: the child starts with none)."""
    key = (url, tuple(sorted(headers.items())), timeout)
    with _ORIGINS_LOCK:
        if key not in _ORIGINS:
            _ORIGINS[key] = Origin(url, dict(headers), timeout)
        return _ORIGINS[key]


def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


os.register_at_fork(after_in_child=_ORIGINS.clear)
