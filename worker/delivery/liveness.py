"""Whether beat and the workers are alive, as an operator asks it: the reaper's last round
(beat schedules it every SEND_REAP_EVERY_SECONDS and a worker runs it) is kept in Redis, the
broker both already share. Without Redis there is no beat: the question does not arise."""

from __future__ import annotations

import logging
from datetime import datetime

import redis

from config import Settings

log = logging.getLogger(__name__)
KEY = "paperboy:reaper:last_beat"


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
