"""Signed, purpose-bound links: /u (unsubscribe), /p (preferences), /f (feedback), /c (confirm),
/e (confirm a change of email address), /d (a digest in the browser), /r (a paper, read:
the click is counted, then the paper opens).

A token names the subscriber, its purpose and the subscriber's token version; bumping the
version revokes every link already sent except unsubscribe links, which neither expire nor are
revoked (RFC 8058 one-click must keep working from old emails; the web checks them by signature
only). Confirm and email-change tokens expire after a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

Purpose = Literal["unsubscribe", "preferences", "feedback", "confirm", "email", "digest", "click"]
PATHS: dict[str, str] = {
    "unsubscribe": "u",
    "preferences": "p",
    "feedback": "f",
    "confirm": "c",
    "email": "e",
    "digest": "d",
    "click": "r",
}
MAX_AGE: dict[str, int | None] = {
    "unsubscribe": None,
    "preferences": None,
    "feedback": 90 * 86400,
    "confirm": 7 * 86400,
    "email": 7 * 86400,
    "digest": None,
    "click": 90 * 86400,
}
EXTRA: dict[str, tuple[str, ...]] = {  # what a purpose's token carries beyond who and version
    "feedback": ("paper_id", "vote"),
    "email": ("address",),
    "digest": ("digest_id",),
    "click": ("paper_id", "digest_id"),
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
    address: str | None = None  # the new address of an email change
    digest_id: int | None = None


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"paperboy.{purpose}")


def make_token(
    secret: str, purpose: Purpose, subscriber_id: int, version: int, **extra: object
) -> str:
    payload: list = [subscriber_id, version, *(extra.get(k) for k in EXTRA.get(purpose, ()))]
    return _serializer(secret, purpose).dumps(payload)


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
