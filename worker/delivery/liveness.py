"""Whether beat and the workers are alive, as an operator asks it: the reaper's last round
(beat schedules it every SEND_REAP_EVERY_SECONDS and a worker runs it) is kept in Redis, the
broker both already share. Without Redis there is no beat: the question does not arise."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis

from config import Settings

log = logging.getLogger(__name__)
KEY = "paperboy:reaper:last_beat"
MISSING_AFTER = timedelta(minutes=2)  # eight of the default SEND_REAP_EVERY_SECONDS rounds


def _client(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)


def beat(settings: Settings, now: datetime) -> None:
    """Record a reaper round; a Redis hiccup costs the record, never the round."""
    if not settings.redis_url:
        return
    try:
        _client(settings).set(KEY, now.isoformat())
    except redis.RedisError as e:
        log.warning("reaper beat not recorded: %s", e)


def last_beat(settings: Settings) -> datetime | None:
    if not settings.redis_url:
        return None
    try:
        value = _client(settings).get(KEY)
    except redis.RedisError:
        return None
    return datetime.fromisoformat(value.decode()) if value else None


def missing(settings: Settings, now: datetime) -> str | None:
    """The warning an operator needs when no reaper beat was seen for two minutes: a worker
    alone finishes runs, but only the reaper recovers what a crash or a Redis restart lost.
    None while beat is alive, or where there is no beat to have (in-process)."""
    if not settings.redis_url:
        return None
    last = last_beat(settings)
    if last is not None and now - last < MISSING_AFTER:
        return None
    seen = "yet" if last is None else f"since {last:%Y-%m-%d %H:%M:%S} UTC"
    return f"no reaper beat seen {seen}: is beat running?"
