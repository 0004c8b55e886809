"""The global send rate: one token bucket every worker draws from, and a shared hold.

With Redis the bucket is a Lua script (atomic, Redis's clock), so SEND_RATE_PER_SECOND holds
for all workers together; a 429's Retry-After becomes a hold every sender waits out. With no
Redis (embedded mode), or while Redis is unreachable, the same bucket lives in this process.

`acquire(n)` is exact for any n: it reserves n tokens at once, letting the bucket go into
debt, and sleeps until the debt is paid. The next caller finds the debt and waits behind it,
so over any stretch the senders take no more than a second's burst plus the rate.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache

import redis

log = logging.getLogger(__name__)
BUCKET_KEY = "paperboy:send:bucket"
HOLD_KEY = "paperboy:send:hold_until"
MAX_SLEEP = 1.0  # re-check at least this often (a hold may be lifted or extended)
MAX_HOLD = 60.0  # a longer Retry-After (a daily quota) is each digest's own retry time instead

# KEYS: bucket, hold. ARGV: rate, capacity, tokens wanted. Returns {reserved (1/0), seconds to
# wait}: reserved, sleep that long and send; held, nothing reserved: ask again after it.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
if hold > now then return {0, tostring(hold - now)} end
local rate, cap, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
tokens = math.min(cap, tokens + (now - at) * rate) - want
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
local wait = math.max(0, -tokens / rate)
redis.call('EXPIRE', KEYS[1], math.ceil(wait) + 60)
return {1, tostring(wait)}
"""
# KEYS: hold. ARGV: seconds. Extends the hold, never shortens it.
HOLD = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1e6 + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(until_), 'EX', math.ceil(tonumber(ARGV[1])) + 1)
end
return 1
"""


class LocalBucket:
    """The same bucket in one process (threads share it)."""

    def __init__(self, rate: float, capacity: float):
        self.rate, self.capacity = rate, capacity
        self.tokens, self.at, self.hold_until = capacity, time.monotonic(), 0.0
        self.lock = threading.Lock()

    def take(self, n: int) -> tuple[bool, float]:
        with self.lock:
            now = time.monotonic()
            if self.hold_until > now:
                return False, self.hold_until - now
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate) - n
            self.at = now
            return True, max(0.0, -self.tokens / self.rate)

    def hold(self, seconds: float) -> None:
        with self.lock:
            self.hold_until = max(self.hold_until, time.monotonic() + seconds)


class Limiter:
    """`acquire(n)` blocks until n sends may go; `hold(s)` stops every sender for s seconds."""

    def __init__(self, rate: float, redis_url: str | None):
        self.rate = rate
        self.capacity = max(rate, 1.0)  # at most a second's worth in one burst
        self.local = LocalBucket(rate, self.capacity)
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=2) if redis_url else None
        if self.redis is not None:
            self.take_script = self.redis.register_script(TAKE)
            self.hold_script = self.redis.register_script(HOLD)

    def acquire(self, n: int) -> None:
        """Return once n sends may go: a hold waited out, then n tokens reserved and paid."""
        while True:
            reserved, wait = self._take(n)
            if reserved:
                time.sleep(wait)
                return
            time.sleep(min(wait, MAX_SLEEP))

    def _take(self, n: int) -> tuple[bool, float]:
        if self.redis is not None:
            try:
                keys, args = [BUCKET_KEY, HOLD_KEY], [self.rate, self.capacity, n]
                reserved, wait = self.take_script(keys=keys, args=args)
                return bool(reserved), float(wait)
            except redis.RedisError as e:
                log.warning("rate limit: Redis unreachable (%s); limiting in this process", e)
        return self.local.take(n)

    def hold(self, seconds: float) -> None:
        seconds = min(seconds, MAX_HOLD)
        self.local.hold(seconds)
        if self.redis is not None:
            try:
                self.hold_script(keys=[HOLD_KEY], args=[seconds])
            except redis.RedisError as e:
                log.warning("rate limit: Redis unreachable (%s); holding this process only", e)


@lru_cache(maxsize=4)
def limiter(rate: float, redis_url: str | None) -> Limiter:
    """One limiter per process (and rate, broker)."""
    return Limiter(rate, redis_url)
