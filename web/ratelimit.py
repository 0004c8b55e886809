"""Rate limits on requests that make us send an email: per client IP, per address, overall.

Fixed windows counted in Redis when REDIS_URL is set (so every web process shares them), in
this process otherwise. Over a limit is a 429 page that says when to try again. Addresses are
hashed before they become keys: the counters hold no personal data.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from config import Settings
from web.pages import message

log = logging.getLogger(__name__)


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


@dataclass
class MemoryCounter:
    """In-process windows: enough for the embedded default's single web process."""

    windows: dict[str, tuple[int, float]]
    lock: threading.Lock

    def hit(self, key: str, window: int) -> tuple[int, int]:
        now = time.monotonic()
        with self.lock:
            if len(self.windows) > 100_000:  # forget finished windows now and then
                self.windows = {k: v for k, v in self.windows.items() if v[1] > now}
            count, ends = self.windows.get(key, (0, now + window))
            if ends <= now:
                count, ends = 0, now + window
            self.windows[key] = (count + 1, ends)
        return count + 1, math.ceil(ends - now)


@dataclass
class RedisCounter:
    client: redis.Redis

    def hit(self, key: str, window: int) -> tuple[int, int]:
        pipe = self.client.pipeline()
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
        return count, max(ttl, 1)


@lru_cache
def counter_for(redis_url: str | None) -> MemoryCounter | RedisCounter:
    if redis_url:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
        return RedisCounter(client)
    return MemoryCounter({}, threading.Lock())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check_mail_request(settings: Settings, client_ip: str, email: str) -> None:
    """Count one mail-sending request; raise RateLimited when any of its limits is spent.

    A Redis outage lets requests through (logged): the per-address resend interval in the
    database still stops a mailbox from being flooded.
    """
    counter = counter_for(settings.redis_url)
    window = settings.mail_requests_window_seconds
    limits = (
        (f"ip:{_digest(client_ip)}", settings.mail_requests_per_ip),
        (f"address:{_digest(email)}", settings.mail_requests_per_address),
        ("overall", settings.mail_requests_overall),
    )
    waits = []
    for key, most in limits:
        try:
            count, ttl = counter.hit(f"paperboy:ratelimit:mail:{key}", window)
        except redis.RedisError as e:
            log.warning("rate limit not checked, Redis failed: %s", e)
            return
        if count > most:
            waits.append(ttl)
    if waits:
        raise RateLimited(max(waits))


def client_ip(request: Request) -> str:
    """The peer address; behind a proxy uvicorn's --proxy-headers (the Procfile) sets it."""
    return request.client.host if request.client else "unknown"


def too_many(request: Request, exc: RateLimited) -> Response:
    minutes = max(1, math.ceil(exc.retry_after / 60))
    when = f"in {minutes} minute{'s' if minutes > 1 else ''}"
    headers = {"Retry-After": str(exc.retry_after)}
    if request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse(
            {"detail": f"too many requests: try again {when}"}, status_code=429, headers=headers
        )
    response = message(
        "Too many requests",
        f"We have had more requests like this than we can answer just now. Try again {when}.",
        "Nothing was lost: anything you already asked for is on its way.",
        status=429,
        link_url="/",
        link_label="Back to Paperboy",
    )
    response.headers.update(headers)
    return response
