"""Signed, purpose-bound links: /u (unsubscribe), /p (preferences), /f (feedback), /c (confirm).

A token names the subscriber, its purpose and the subscriber's token version; bumping
the version revokes every link already sent. Unsubscribe tokens never expire (RFC 8058
one-click must keep working from old emails); confirm tokens expire after a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

Purpose = Literal["unsubscribe", "preferences", "feedback", "confirm"]
PATHS: dict[str, str] = {"unsubscribe": "u", "preferences": "p", "feedback": "f", "confirm": "c"}
MAX_AGE: dict[str, int | None] = {
    "unsubscribe": None,
    "preferences": None,
    "feedback": 90 * 86400,
    "confirm": 7 * 86400,
}


class InvalidToken(ValueError):
    """Forged, tampered, expired or wrong-purpose token."""


@dataclass(frozen=True)
class TokenData:
    subscriber_id: int
    version: int
    purpose: str
    paper_id: str | None = None
    vote: int | None = None


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"paperboy.{purpose}")


def make_token(
    secret: str,
    purpose: Purpose,
    subscriber_id: int,
    version: int,
    paper_id: str | None = None,
    vote: int | None = None,
) -> str:
    payload: list = [subscriber_id, version]
    if purpose == "feedback":
        payload += [paper_id, vote]
    return _serializer(secret, purpose).dumps(payload)


def read_token(secret: str, purpose: Purpose, token: str) -> TokenData:
    try:
        data = _serializer(secret, purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired as e:
        raise InvalidToken(f"this {purpose} link has expired") from e
    except BadSignature as e:
        raise InvalidToken(f"this {purpose} link is not valid") from e
    if not isinstance(data, list) or len(data) < 2:
        raise InvalidToken(f"this {purpose} link is not valid")
    extra = data[2:4] if purpose == "feedback" else [None, None]
    return TokenData(int(data[0]), int(data[1]), purpose, *extra)


def link(
    base_url: str, secret: str, purpose: Purpose, subscriber_id: int, version: int, **kw
) -> str:
    token = make_token(secret, purpose, subscriber_id, version, **kw)
    return f"{base_url.rstrip('/')}/{PATHS[purpose]}/{token}"
