"""Kept-alive HTTP/1.1 connections to one origin, over plain sockets.

A provider's API is one host answering small JSON posts, thousands a minute: a pooled client
library costs more CPU per request than the request itself, and so does `http.client` (its
headers go through the `email` package's parser, and a request is written in two sends). Here
a request takes an idle connection (or opens one), is written in one send, its whole answer
read (status line, headers, a Content-Length or chunked body) and the connection put back:
one at a time (`post`), or a wave of them from one thread (`post_all`: every request
written, then the answers read as their connections turn readable), which costs less CPU
than a thread per request waking for its answer.

What a lost connection means is the caller's question, so the answer is exact:
- a connection the server hung up while it sat idle is noticed before it is used (the socket
  reads as closed) and replaced, and a request whose writing failed was never whole at the
  server: it goes once more on a fresh connection;
- once the request is written, a reset, a hang-up or a timeout is `Unanswered`, never sent
  again here: the server may have acted on it, and only the caller's policy may resend.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD = 65536  # bytes of status line and headers an answer may have


class Unanswered(OSError):
    """The request may have reached the server (`written`), but no answer came back."""

    def __init__(self, message: str, *, written: bool):
        super().__init__(message)
        self.written = written


class BadAnswer(OSError):
    """What came back is not an HTTP/1.x answer we can read."""


class Headers(dict):
    """An answer's headers by lower-cased name, looked up whatever the case (the first of a
    repeated header)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: str | None = None) -> str | None:
        return super().get(name.lower(), default)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Headers
    body: bytes


@dataclass
class Origin:
    """One scheme://host:port, its idle connections and the head every request carries."""

    url: str
    headers: dict[str, str]
    timeout: float
    idle: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    opened: int = 0  # connections opened so far: what keep-alive saves is visible
    heads: dict[str, bytes] = field(default_factory=dict)  # by path: a request's head to its length

    def connect(self, timeout: float | None = None) -> socket.socket:
        """A new connection, opened (TLS too) within `timeout` (the origin's if None)."""
        parts = urlsplit(self.url)
        tls = parts.scheme == "https"
        self.opened += 1
        sock = socket.create_connection(
            (parts.hostname, parts.port or (443 if tls else 80)), timeout=timeout or self.timeout
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            try:
                return _tls().wrap_socket(sock, server_hostname=parts.hostname)
            except BaseException:
                sock.close()
                raise
        return sock

    def take(self, timeout: float | None = None) -> tuple[socket.socket, bool]:
        """An idle connection still open (and True), or a new one (and False, opened within
        `timeout`)."""
        while True:
            with self.lock:
                sock = self.idle.pop() if self.idle else None
            if sock is None:
                return self.connect(timeout), False
            if not hung_up(sock):
                return sock, True
            sock.close()

    def give_back(self, sock: socket.socket) -> None:
        with self.lock:
            self.idle.append(sock)

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for sock in idle:
            sock.close()


def hung_up(sock: socket.socket) -> bool:
    """Whether an idle connection's socket reads: EOF (the server closed it) or stray bytes,
    either way not a connection to send on."""
    if sock.fileno() < 0:
        return True
    poller = select.poll()  # poll, not select: any descriptor number
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def request_head(origin: Origin, path: str, length: int) -> bytes:
    """The request line and headers of a POST of `length` bytes; all but the length made
    once per path (every request to it carries the same)."""
    head = origin.heads.get(path)
    if head is None:
        netloc = urlsplit(origin.url).netloc
        lines = [f"POST {path} HTTP/1.1", f"Host: {netloc}", "Accept-Encoding: identity"]
        lines += [f"{k}: {v}" for k, v in origin.headers.items()]
        head = origin.heads[path] = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
    return head + b"%d\r\n\r\n" % length


def post(origin: Origin, path: str, body: bytes) -> Answer:
    """POST `body` and read the whole answer. Raises `Unanswered`; retries only a request
    that was never written whole (once, on a fresh connection)."""
    return _answer(origin, _write(origin, request_head(origin, path, len(body)) + body))


def post_all(origin: Origin, path: str, bodies: list[bytes]) -> list[Answer | Unanswered]:
    """POST every body at once from this one thread, each on its own connection: all the
    requests written first, then each answer read as its connection turns readable (no thread
    per request waking for it). Each request is as exact as `post`'s: an `Unanswered` in its
    place. The wave takes no longer than concurrent posts would: writing them (connections
    opened included) has `origin.timeout` in all, and a request unanswered `origin.timeout`
    after the last one was written has waited that long, as `post` would have."""
    out: list[Answer | Unanswered | None] = [None] * len(bodies)
    waiting: dict[int, tuple[int, socket.socket]] = {}  # by descriptor: (index, connection)
    poller = select.poll()
    deadline = time.monotonic() + origin.timeout
    for i, body in enumerate(bodies):
        try:
            sock = _write(origin, request_head(origin, path, len(body)) + body, deadline)
        except Unanswered as e:
            out[i] = e
            continue
        waiting[sock.fileno()] = i, sock
        poller.register(sock, select.POLLIN)
    deadline = time.monotonic() + origin.timeout
    while waiting:
        ready = poller.poll(max(deadline - time.monotonic(), 0) * 1000)
        if not ready:
            for i, sock in waiting.values():
                sock.close()
                out[i] = Unanswered("no answer: timed out", written=True)
            break
        for fd, _ in ready:
            poller.unregister(fd)
            i, sock = waiting.pop(fd)
            try:
                out[i] = _answer(origin, sock)
            except Unanswered as e:
                out[i] = e
    return out  # type: ignore[return-value]  # every place filled


def _write(origin: Origin, data: bytes, deadline: float | None = None) -> socket.socket:
    """A connection with the request `data` written whole on it, by `deadline` (monotonic)
    if given. Raises `Unanswered` (not written); a connection that turns out dead while
    writing is replaced once."""
    for attempt in range(2):
        left = None if deadline is None else deadline - time.monotonic()
        try:
            if left is not None and left <= 0:
                raise TimeoutError("timed out")
            sock, reused = origin.take(left)
        except OSError as e:  # refused or timed out while connecting
            raise Unanswered(f"could not send: {e!r}", written=False) from e
        try:
            if left is not None and reused:
                sock.settimeout(left)
            sock.sendall(data)
            if left is not None:
                sock.settimeout(origin.timeout)  # for the answer
        except OSError as e:  # reset or timed out while writing
            sock.close()
            if attempt == 0 and reused:
                continue  # the server had let it go: nothing of this request was acted on
            raise Unanswered(f"could not send: {e!r}", written=False) from e
        return sock
    raise AssertionError("unreachable")


def _answer(origin: Origin, sock: socket.socket) -> Answer:
    """The answer to the request written on `sock`, the connection kept or closed after it.
    Raises `Unanswered` (written)."""
    try:
        answer, keep = read_answer(sock)
    except OSError as e:
        sock.close()
        raise Unanswered(f"no answer: {e!r}", written=True) from e
    if keep:
        origin.give_back(sock)
    else:
        sock.close()
    return answer


def read_answer(sock: socket.socket) -> tuple[Answer, bool]:
    """The answer to the request just written, and whether the connection may be kept.
    Raises OSError (a reset, a timeout, a hang-up, or `BadAnswer`)."""
    buf = bytearray()
    while True:
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            if len(buf) > MAX_HEAD:
                raise BadAnswer("the answer's headers are too long")
            _recv(sock, buf)
            end = buf.find(b"\r\n\r\n")
        first, _, rest = buf[:end].decode("latin-1").partition("\r\n")
        del buf[: end + 4]
        version, _, code = first.partition(" ")
        code = code[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise BadAnswer(f"not an HTTP/1.x status line: {first[:80]!r}")
        status = int(code)
        if status >= 200:
            break  # an interim answer (100 Continue) is followed by the real one
    # by lower-cased name, the first of a repeated header winning (the lines taken backwards)
    lines = [line.partition(":") for line in rest.split("\r\n")] if rest else []
    fields = {
        name.strip().lower(): value.strip() for name, colon, value in reversed(lines) if colon
    }
    headers = Headers(fields)
    connection = fields.get("connection", "").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    if status in (204, 304):
        return Answer(status, headers, b""), keep
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return Answer(status, headers, _chunked(sock, buf)), keep
    if (length := fields.get("content-length")) is not None:
        if not length.isdigit():
            raise BadAnswer(f"a bad Content-Length: {length!r}")
        length = int(length)
        while len(buf) < length:
            _recv(sock, buf)
        return Answer(status, headers, bytes(buf[:length])), keep and len(buf) == length
    while _recv(sock, buf, eof_ok=True):  # no length: the body ends with the connection
        pass
    return Answer(status, headers, bytes(buf)), False


def _chunked(sock: socket.socket, buf: bytearray) -> bytes:
    body = bytearray()
    while True:
        while (end := buf.find(b"\r\n")) < 0:
            _recv(sock, buf)
        try:
            size = int(bytes(buf[:end]).split(b";")[0], 16)
        except ValueError:
            raise BadAnswer(f"a bad chunk size: {bytes(buf[:end])[:40]!r}") from None
        del buf[: end + 2]
        if size == 0:  # the last chunk, then trailers up to an empty line
            while (end := buf.find(b"\r\n")) != 0:
                if end > 0:
                    del buf[: end + 2]
                else:
                    _recv(sock, buf)
            return bytes(body)
        while len(buf) < size + 2:
            _recv(sock, buf)
        body += buf[:size]
        del buf[: size + 2]


def _recv(sock: socket.socket, buf: bytearray, eof_ok: bool = False) -> bool:
    """More of the answer into `buf`; False at the end of the connection (if `eof_ok`)."""
    data = sock.recv(65536)
    if not data:
        if eof_ok:
            return False
        raise ConnectionResetError("the server closed the connection mid-answer")
    buf += data
    return True


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
