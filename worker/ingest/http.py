"""A polite HTTP client for paper sources: spacing between requests, retry with backoff.

arXiv's terms ask for at least 3 s between requests; both providers answer 429 and 503 when
busy. One client per run owns the spacing and the retry rule, so no source re-implements them.
With Redis, the spacing holds across processes too (`SharedPace`): two workers fetching arXiv
at once take turns. A body is read as a stream and refused past `max_bytes`, before anything
parses it. The clock and sleep are injected: tests check the spacing without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import redis

from config.celery import parse_retry_after

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_ERROR_BODY = 300
FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class SourceError(RuntimeError):
    """A source could not be read (after retries) or sent something unusable."""

    def __init__(self, source: str, message: str, status: int | None = None):
        self.source = source
        self.status = status
        super().__init__(f"{source}: {message}")


@dataclass(frozen=True)
class Politeness:
    min_interval: float  # seconds between the starts of two requests
    max_attempts: int = 5
    backoff: float = 2.0  # first retry waits this long, then doubles
    max_backoff: float = 120.0


class SharedPace:
    """The next free start time of one provider's requests, kept in Redis: each request
    books the slot `min_interval` after the last booked one, atomically, whoever made it.
    Times are the clients' clock (wall-clock `time.time` across processes and machines)."""

    BOOK = """
    local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
    local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or now))
    local ttl = math.ceil((start - now + interval) * 1000) + 1000
    redis.call('SET', KEYS[1], start + interval, 'PX', ttl)
    return tostring(start - now)
    """

    def __init__(self, client: redis.Redis, source: str):
        self.key = f"paperboy:pace:{source}"
        self._book = client.register_script(self.BOOK)

    def wait(self, now: float, interval: float) -> float:
        """Book the next slot; how long to wait for it."""
        return float(self._book(keys=[self.key], args=[repr(now), repr(interval)]))


class PoliteClient:
    """GETs against one provider, never closer together than `min_interval` seconds."""

    def __init__(
        self,
        source: str,
        politeness: Politeness,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        max_bytes: int = 20_000_000,
        pace: SharedPace | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.source = source
        self.politeness = politeness
        self.max_bytes = max_bytes
        self.pace = pace
        self.clock = clock
        self.sleep = sleep
        self.requests = 0  # attempts made, retries included
        self._last_start: float | None = None
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
            headers={"User-Agent": "Paperboy/0.1 (research digest; polite client)"},
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc) -> None:
        self._http.close()

    def _wait_turn(self) -> None:
        if self.pace is not None:  # the turn is shared with every process
            wait = self.pace.wait(self.clock(), self.politeness.min_interval)
            if wait > 0:
                self.sleep(wait)
            return
        if self._last_start is not None:
            wait = self._last_start + self.politeness.min_interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_start = self.clock()

    def get(self, url: str, params: dict | None = None) -> httpx.Response:
        """A 2xx response, or SourceError once retries are spent or the answer is permanent."""
        p = self.politeness
        last = "no attempt made"
        for attempt in range(1, p.max_attempts + 1):
            self._wait_turn()
            self.requests += 1
            retry_after = None
            try:
                response = self._read(url, params)
            except (httpx.TimeoutException, httpx.TransportError) as e:
                last = f"{type(e).__name__}: {e or 'no detail'}"
            else:
                if response.is_success:
                    return response
                body = response.text[:MAX_ERROR_BODY].strip()
                last = f"HTTP {response.status_code} from {response.url}: {body}"
                if response.status_code not in RETRYABLE_STATUS:
                    raise SourceError(self.source, last, response.status_code)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt < p.max_attempts:
                delay = min(p.backoff * 2 ** (attempt - 1), p.max_backoff)
                self.sleep(min(max(delay, retry_after or 0.0), p.max_backoff))
        raise SourceError(self.source, f"gave up after {p.max_attempts} attempts; last: {last}")

    def _read(self, url: str, params: dict | None) -> httpx.Response:
        """The response with its body, streamed and refused past `max_bytes` (a provider
        sending 150 MB would otherwise be parsed and stored whole)."""
        with self._http.stream("GET", url, params=params) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large(response, f"declares {int(declared):,} bytes")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._too_large(response, "sent more")
            headers = [  # the body is decoded already, and whole
                (k, v) for k, v in response.headers.multi_items() if k.lower() not in FRAMING
            ]
            return httpx.Response(
                response.status_code, headers=headers, content=bytes(body), request=response.request
            )

    def _too_large(self, response: httpx.Response, what: str) -> SourceError:
        return SourceError(
            self.source,
            f"response from {response.url} {what} than the {self.max_bytes:,}-byte limit "
            "(FETCH_MAX_RESPONSE_BYTES); not read further",
            response.status_code,
        )
