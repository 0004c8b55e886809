"""Signed, purpose-bound links: /u (unsubscribe), /p (preferences), /f (feedback), /c (confirm),
/e (confirm a change of email address), /d (a digest in the browser), /feed (the reader's
Atom feed of their picks), /r (a paper, read: the click is counted, then the paper opens).

A token names the subscriber, its purpose and the subscriber's token version; bumping the
version revokes every link already sent except unsubscribe links, which neither expire nor are
revoked (RFC 8058 one-click must keep working from old emails; the web checks them by signature
only). Confirm and email-change tokens expire after a week.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

Purpose = Literal[
    "unsubscribe", "preferences", "feedback", "confirm", "email", "digest", "feed", "click"
]
PATHS: dict[str, str] = {
    "unsubscribe": "u",
    "preferences": "p",
    "feedback": "f",
    "confirm": "c",
    "email": "e",
    "digest": "d",
    "feed": "feed",
    "click": "r",
}
MAX_AGE: dict[str, int | None] = {
    "unsubscribe": None,
    "preferences": None,
    "feedback": 90 * 86400,
    "confirm": 7 * 86400,
    "email": 7 * 86400,
    "digest": None,
    "feed": None,  # a feed reader polls it for years; "revoke all my links" stops it
    "click": 90 * 86400,
}
EXTRA: dict[str, tuple[str, ...]] = {  # what a purpose's token carries beyond who and version
    "feedback": ("paper_id", "vote"),
    "email": ("address",),
    "digest": ("digest_id",),
    "click": ("paper_id", "digest_id"),
}


# itsdangerous's compact JSON, its encoder built once (json.dumps with options builds one a call)
ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class InvalidToken(ValueError):
    """Forged, tampered, expired or wrong-purpose token."""


@dataclass(frozen=True)
class TokenData:
    subscriber_id: int
    version: int
    purpose: str
    paper_id: str | None = None
    vote: int | None = None
    address: str | None = None  # the new address of an email change
    digest_id: int | None = None


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"paperboy.{purpose}")


def make_token(
    secret: str, purpose: Purpose, subscriber_id: int, version: int, **extra: object
) -> str:
    """A token `URLSafeTimedSerializer(secret, salt).loads` verifies, made without its set-up
    per call (a digest carries three dozen links, and itsdangerous's objects cost more than
    the signing itself) and never compressed: itsdangerous's `dumps` deflates a payload when
    that makes it shorter, which a link's few dozen bytes of ids almost never are, at more
    than half a token's cost. Its `loads` reads both forms, so links sent compressed keep
    working. `read_token` verifies with itsdangerous."""
    payload = [subscriber_id, version, *(extra.get(k) for k in EXTRA.get(purpose, ()))]
    data = ("[" + ",".join([_json(v) for v in payload]) + "]").encode()
    return _sign(*_keyed(secret, purpose), data, _stamp(int(time.time()))).decode()


def _sign(inner: Any, outer: Any, data: bytes, stamp: bytes) -> bytes:
    """The signed token for this JSON payload, with the purpose's keyed HMAC states
    (`_keyed`) at hand and itsdangerous's timestamp part (`_stamp`)."""
    value = _b64(data) + stamp
    inner = inner.copy()
    inner.update(value)
    outer = outer.copy()
    outer.update(inner.digest())
    return value + b"." + _b64(outer.digest())


def _json(value: object) -> str:
    """One payload item as ENCODE writes it inside a list (a plain int spelled directly)."""
    return str(value) if type(value) is int else ENCODE(value)


def _stamp(now: int) -> bytes:
    """itsdangerous's timestamp part for `now`, with the dot before it."""
    return b"." + _b64(now.to_bytes((now.bit_length() + 7) // 8 or 1, "big"))


@lru_cache(maxsize=16)
def _keyed(secret: str, purpose: str) -> tuple[Any, Any]:
    """HMAC-SHA1 (RFC 2104) keyed with itsdangerous's default derivation ("django-concat",
    SHA-1) for this salt, as its two padded SHA-1 states, derived once: each token copies
    them instead of keying afresh."""
    key = hashlib.sha1(f"paperboy.{purpose}signer{secret}".encode()).digest().ljust(64, b"\0")
    return (
        hashlib.sha1(key.translate(IPAD)),
        hashlib.sha1(key.translate(OPAD)),
    )


IPAD = bytes(b ^ 0x36 for b in range(256))
OPAD = bytes(b ^ 0x5C for b in range(256))
B64URL = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(B64URL).rstrip(b"=")


def read_token(secret: str, purpose: Purpose, token: str) -> TokenData:
    try:
        data = _serializer(secret, purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired as e:
        raise InvalidToken(f"this {purpose} link has expired") from e
    except BadSignature as e:
        raise InvalidToken(f"this {purpose} link is not valid") from e
    names = EXTRA.get(purpose, ())
    if not isinstance(data, list) or len(data) != 2 + len(names):
        raise InvalidToken(f"this {purpose} link is not valid")
    try:
        return TokenData(
            int(data[0]), int(data[1]), purpose, **dict(zip(names, data[2:], strict=True))
        )
    except (TypeError, ValueError) as e:  # signed by us, so only an old format lands here
        raise InvalidToken(f"this {purpose} link is not valid") from e


def link(
    base_url: str, secret: str, purpose: Purpose, *, subscriber_id: int, version: int, **kw
) -> str:
    token = make_token(secret, purpose, subscriber_id, version, **kw)
    return f"{base_url.rstrip('/')}/{PATHS[purpose]}/{token}"


def reader_links(
    base_url: str, secret: str, subscriber_id: int, version: int
) -> Callable[..., str]:
    """`link` for one reader, the parts all their links share (the payload's head, and each
    purpose's URL path and keyed HMAC) made once: a digest carries three dozen. The returned
    `make(purpose, *extra)` takes the purpose's EXTRA values in EXTRA's order and gives
    `link`'s URL byte for byte (within one second: a reader's links share one stamp)."""
    base = base_url.rstrip("/")
    head = f"[{_json(subscriber_id)},{_json(version)}"
    keyed = _purposes(base, secret)
    stamp = _stamp(int(time.time()))  # one email's links are stamped alike

    def make(purpose: Purpose, *extra: object) -> str:
        data = head
        for value in extra:
            data += "," + _json(value)
        url, inner, outer = keyed[purpose]
        return url + _sign(inner, outer, (data + "]").encode(), stamp).decode()

    return make


@lru_cache(maxsize=4)
def _purposes(base: str, secret: str) -> dict[str, tuple[str, Any, Any]]:
    """Each purpose's URL up to its token and keyed HMAC states, for `reader_links`."""
    return {p: (f"{base}/{path}/", *_keyed(secret, p)) for p, path in PATHS.items()}
