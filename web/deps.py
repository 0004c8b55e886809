"""Dependencies as `Annotated` aliases, so routes read like prose; signed-link checks live here.

No dependency holds a database connection: a sync dependency and its route run in different
worker threads, so a session opened in one and used in the other would keep a pooled
connection while waiting for a free thread; under a burst every thread waits for a connection
held by a request that waits for a thread. Routes open their session where they use it
(`session_scope()`), in the one thread that does the work, and close it before answering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from config import Settings, get_settings
from emails.tokens import InvalidToken, Purpose, TokenData, link, read_token
from models import Subscriber


async def _settings() -> Settings:
    return get_settings()  # async: no thread hop for a cached object


SettingsDep = Annotated[Settings, Depends(_settings)]


class BadLink(Exception):
    """A forged, tampered, expired, wrong-purpose or revoked link: refused, nothing changed."""

    def __init__(self, purpose: str, reason: str):
        super().__init__(reason)
        self.purpose = purpose
        self.reason = reason


@dataclass(frozen=True)
class Link:
    """A link whose signature checked out; `subscriber` checks it was not revoked."""

    data: TokenData
    token: str
    revocable: bool

    @property
    def purpose(self) -> str:
        return self.data.purpose

    def subscriber(self, session: Session, *, for_update: bool = False) -> Subscriber:
        sub = session.get(Subscriber, self.data.subscriber_id, with_for_update=for_update)
        if sub is None or (self.revocable and sub.token_version != self.data.version):
            raise BadLink(self.purpose, f"this {self.purpose} link has been revoked")
        return sub


def _signed_link(purpose: Purpose, *, revocable: bool = True) -> Callable[..., Link]:
    async def check(token: str, settings: SettingsDep) -> Link:  # HMAC only: no thread, no DB
        try:
            data = read_token(settings.signing_key(), purpose, token)
        except InvalidToken as e:
            raise BadLink(purpose, str(e)) from e
        return Link(data, token, revocable)

    return check


ConfirmLink = Annotated[Link, Depends(_signed_link("confirm"))]
# RFC 8058 and the law expect an unsubscribe link in any email ever sent to keep working:
# "revoke all my links" covers preferences and feedback links, never unsubscribe.
UnsubscribeLink = Annotated[Link, Depends(_signed_link("unsubscribe", revocable=False))]
PreferencesLink = Annotated[Link, Depends(_signed_link("preferences"))]
FeedbackLink = Annotated[Link, Depends(_signed_link("feedback"))]
EmailChangeLink = Annotated[Link, Depends(_signed_link("email"))]
DigestLink = Annotated[Link, Depends(_signed_link("digest"))]
FeedLink = Annotated[Link, Depends(_signed_link("feed"))]
ClickLink = Annotated[Link, Depends(_signed_link("click"))]


def link_for(settings: Settings, purpose: Purpose, sub: Subscriber, **extra: object) -> str:
    """A fresh signed link for a page to show (same format the emails carry)."""
    key = settings.signing_key()
    return link(
        settings.base_url, key, purpose, subscriber_id=sub.id, version=sub.token_version, **extra
    )
