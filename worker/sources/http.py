"""A polite HTTP client for paper sources: spacing between requests, retry with backoff.

arXiv's terms ask for at least 3 s between requests; both providers answer 429 and 503 when
busy. One client per run owns the spacing and the retry rule, so no source re-implements them.
The clock and sleep are injected: tests check the spacing without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_ERROR_BODY = 300


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


class PoliteClient:
    """GETs against one provider, never closer together than `min_interval` seconds."""

    def __init__(
        self,
        source: str,
        politeness: Politeness,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.source = source
        self.politeness = politeness
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
                response = self._http.get(url, params=params)
            except (httpx.TimeoutException, httpx.TransportError) as e:
                last = f"{type(e).__name__}: {e or 'no detail'}"
            else:
                if response.is_success:
                    return response
                body = response.text[:MAX_ERROR_BODY].strip()
                last = f"HTTP {response.status_code} from {response.url}: {body}"
                if response.status_code not in RETRYABLE_STATUS:
                    raise SourceError(self.source, last, response.status_code)
                retry_after = _retry_after(response.headers.get("Retry-After"))
            if attempt < p.max_attempts:
                delay = min(p.backoff * 2 ** (attempt - 1), p.max_backoff)
                self.sleep(min(max(delay, retry_after or 0.0), p.max_backoff))
        raise SourceError(self.source, f"gave up after {p.max_attempts} attempts; last: {last}")


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (either form the RFC allows), or None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
