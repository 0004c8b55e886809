"""Dependencies as `Annotated` aliases, so routes read like prose; signed-link checks live here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from config import Settings, get_settings
from emails.tokens import InvalidToken, Purpose, TokenData, link, read_token
from models import Subscriber, session_scope


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


class BadLink(Exception):
    """A forged, tampered, expired, wrong-purpose or revoked link: refused, nothing changed."""

    def __init__(self, purpose: str, reason: str):
        super().__init__(reason)
        self.purpose = purpose
        self.reason = reason


@dataclass(frozen=True)
class Link:
    sub: Subscriber
    data: TokenData
    token: str


def _checked_link(purpose: Purpose) -> Callable[..., Link]:
    def check(token: str, session: SessionDep, settings: SettingsDep) -> Link:
        try:
            data = read_token(settings.signing_key(), purpose, token)
        except InvalidToken as e:
            raise BadLink(purpose, str(e)) from e
        sub = session.get(Subscriber, data.subscriber_id)
        if sub is None or sub.token_version != data.version:
            raise BadLink(purpose, f"this {purpose} link has been revoked")
        return Link(sub, data, token)

    return check


ConfirmLink = Annotated[Link, Depends(_checked_link("confirm"))]
UnsubscribeLink = Annotated[Link, Depends(_checked_link("unsubscribe"))]
PreferencesLink = Annotated[Link, Depends(_checked_link("preferences"))]
FeedbackLink = Annotated[Link, Depends(_checked_link("feedback"))]


def link_for(settings: Settings, purpose: Purpose, sub: Subscriber) -> str:
    """A fresh signed link for a page to show (same format the emails carry)."""
    return link(settings.base_url, settings.signing_key(), purpose, sub.id, sub.token_version)
