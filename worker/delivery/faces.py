"""Card faces shared by every sending process: a paper's face (`emails.render.paper_face`:
its LaTeX made readable, its teaser cut, about a millisecond) is made once per version of
the paper and kept in Redis, where every pool process on every host finds it, instead of
each process rendering every paper of the edition again. A face is stored as JSON (its
field values in order), kept a day; a changed paper is a new key (its `updated_at`), and
so is a changed renderer (the key names the rendering code's digest: a deploy never sends
the faces the code before it made). Without Redis, or while it is unreachable, a process
renders for itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from pathlib import Path

import redis

from emails import latex, render
from emails.render import CARD_FIELDS, PaperCard

log = logging.getLogger(__name__)
KEEP_SECONDS = 86400  # an edition is sent within the day; a later one reads its papers anew
_values = attrgetter(*CARD_FIELDS)
Key = tuple[str, datetime]
SOURCES = b"".join(Path(module.__file__).read_bytes() for module in (render, latex))
CODE = hashlib.sha1(SOURCES).hexdigest()[:12]


def key_name(key: Key) -> str:
    paper_id, updated_at = key
    return f"paperboy:face:{CODE}:{paper_id}:{updated_at.isoformat()}"


@lru_cache(maxsize=4)
def _client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)


def fetch(redis_url: str | None, keys: list[Key]) -> dict[Key, PaperCard]:
    """Those of `keys` some process has made (one round trip)."""
    if not redis_url or not keys:
        return {}
    try:
        stored = _client(redis_url).mget([key_name(k) for k in keys])
    except redis.RedisError as e:
        log.warning("card faces not read from Redis: %s", e)
        return {}
    return {k: _card(json.loads(v)) for k, v in zip(keys, stored, strict=True) if v is not None}


def store(redis_url: str | None, faces: dict[Key, PaperCard]) -> None:
    """Keep these faces for every process (one round trip); a Redis hiccup costs only that."""
    if not redis_url or not faces:
        return
    pipe = _client(redis_url).pipeline(transaction=False)
    for key, face in faces.items():
        pipe.set(key_name(key), json.dumps(_values(face)), ex=KEEP_SECONDS)
    try:
        pipe.execute()
    except redis.RedisError as e:
        log.warning("card faces not kept in Redis: %s", e)


def _card(values: list) -> PaperCard:
    """A face from its stored values: JSON's lists are the card's tuples again."""
    return PaperCard(*(_tuple(v) if type(v) is list else v for v in values))


def _tuple(value: list) -> tuple:
    return tuple(_tuple(v) if type(v) is list else v for v in value)
