"""A run's paper faces (`emails.render.paper_face`: what a card shows of the paper alone),
rendered once for every worker process on every host. The first process that needs a paper's
face renders it and leaves it in Redis under the run; the others read it there (a few KB of
JSON) instead of rendering it again: LaTeX made readable and teasers cost about a millisecond
a paper, and with each pool process rendering every paper itself that was a tenth of a
10,000-reader edition's CPU. Scoped to the run, so a face lives no longer than the run
(KEPT_SECONDS at most): a deploy mid-run mixes versions as its workers' own emails would.
Without Redis (embedded mode: one process) or when Redis fails, a process renders its own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import astuple
from datetime import datetime
from functools import lru_cache

import redis

from emails.render import PaperCard

log = logging.getLogger(__name__)
KEPT_SECONDS = 86400
Key = tuple[str, datetime]  # (paper id, its updated_at): one version of a paper


@lru_cache(maxsize=4)
def _client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_timeout=2)


def _name(run_id: int) -> str:
    return f"paperboy:faces:{run_id}"


def _field(key: Key) -> str:
    return f"{key[0]} {key[1].isoformat()}"


def _card(data: bytes) -> PaperCard:
    """A face as `share` wrote it: JSON's lists back to the card's tuples."""
    values = json.loads(data)
    return PaperCard(
        *[
            tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
            for v in values
        ]
    )


def shared(redis_url: str | None, run_id: int | None, keys: list[Key]) -> dict[Key, PaperCard]:
    """Those of these faces another process of the run has rendered already."""
    if not redis_url or run_id is None or not keys:
        return {}
    try:
        found = _client(redis_url).hmget(_name(run_id), [_field(k) for k in keys])
    except redis.RedisError as e:
        log.warning("paper faces: Redis unreachable (%s); rendering them here", e)
        return {}
    return {key: _card(data) for key, data in zip(keys, found, strict=True) if data is not None}


def share(redis_url: str | None, run_id: int | None, faces: dict[Key, PaperCard]) -> None:
    """Leave these freshly rendered faces for the run's other processes."""
    if not redis_url or run_id is None or not faces:
        return
    mapping = {_field(k): json.dumps(astuple(face)) for k, face in faces.items()}
    try:
        with _client(redis_url).pipeline() as pipe:
            pipe.hset(_name(run_id), mapping=mapping)
            pipe.expire(_name(run_id), KEPT_SECONDS)
            pipe.execute()
    except redis.RedisError as e:
        log.warning("paper faces: Redis unreachable (%s); not shared", e)
