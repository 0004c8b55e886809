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


Limits = tuple[tuple[str, int], ...]  # (key, most requests per window)

# All or none: a request any limit refuses is counted against none of them, so a flood
# from one client spends its own per-IP window and not everyone's overall one.
TAKE = """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl > wait then wait = ttl end
    if ttl < 1 and wait < 1 then wait = 1 end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
  redis.call('INCR', key)
end
return 0
"""


@dataclass
class MemoryCounter:
    """In-process windows: enough for the embedded default's single web process."""

    windows: dict[str, tuple[int, float]]
    lock: threading.Lock

    def take(self, limits: Limits, window: int) -> int:
        """Count one request against every limit, or none when one is spent: 0 or seconds."""
        now = time.monotonic()
        with self.lock:
            if len(self.windows) > 100_000:  # forget finished windows now and then
                self.windows = {k: v for k, v in self.windows.items() if v[1] > now}
            current = {}
            for key, _ in limits:
                count, ends = self.windows.get(key, (0, now + window))
                current[key] = (0, now + window) if ends <= now else (count, ends)
            waits = [math.ceil(current[k][1] - now) for k, most in limits if current[k][0] >= most]
            if waits:
                return max(1, *waits)
            for key, (count, ends) in current.items():
                self.windows[key] = (count + 1, ends)
        return 0


@dataclass
class RedisCounter:
    client: redis.Redis

    def take(self, limits: Limits, window: int) -> int:
        """One script, atomic across web processes: 0 when counted, else seconds to wait."""
        keys = [key for key, _ in limits]
        return int(self.client.eval(TAKE, len(keys), *keys, window, *(m for _, m in limits)))


@lru_cache
def counter_for(redis_url: str | None) -> MemoryCounter | RedisCounter:
    if redis_url:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
        return RedisCounter(client)
    return MemoryCounter({}, threading.Lock())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def take(settings: Settings, scope: str, limits: Limits, window: int) -> None:
    """Count one request under `scope`; raise RateLimited when any of `limits` is spent.

    A Redis outage lets requests through (logged): the per-address resend interval in the
    database, or Argon2's cost at sign-in, still slows abuse down.
    """
    prefixed = tuple((f"paperboy:ratelimit:{scope}:{key}", most) for key, most in limits)
    try:
        wait = counter_for(settings.redis_url).take(prefixed, window)
    except redis.RedisError as e:
        log.warning("%s rate limit not checked, Redis failed: %s", scope, e)
        return
    if wait:
        raise RateLimited(wait)


def check_mail_request(settings: Settings, client_ip: str, email: str) -> None:
    """Count one mail-sending request against its client, its address and the overall limit."""
    limits = (
        (f"ip:{_digest(client_ip)}", settings.mail_requests_per_ip),
        (f"address:{_digest(email)}", settings.mail_requests_per_address),
        ("overall", settings.mail_requests_overall),
    )
    take(settings, "mail", limits, settings.mail_requests_window_seconds)


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
