"""Subscriber lifecycle: subscribe, confirm, update, unsubscribe. Every change records its source.

An unsubscribe is never lost: it sets the status and adds a suppression row in one
transaction, and the planner and the sender both check suppressions.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from models import Subscriber, SubscriberStatus, Suppression, utcnow

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class InvalidEmail(ValueError):
    pass


def normalize_email(raw: str) -> str:
    """Trim and lowercase the domain (the local part is case-sensitive by RFC, but
    lowercasing it too is what every provider does and stops duplicate sign-ups)."""
    email = (raw or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email) or ".." in email:
        raise InvalidEmail(f"not a valid email address: {raw!r}")
    return email


def find(session: Session, email: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.email == email)).first()


def subscribe(
    session: Session,
    email: str,
    *,
    interests: str = "",
    categories: list[str] | None = None,
    authors: list[str] | None = None,
    max_papers: int = 10,
    confirmed: bool = False,
    source: str = "cli",
) -> Subscriber:
    """Create (or refresh) a subscriber. `confirmed` skips double opt-in (CLI, demo)."""
    email = normalize_email(email)
    sub = find(session, email) or Subscriber(email=email)
    sub.interests = interests or sub.interests
    sub.categories = categories if categories is not None else sub.categories
    sub.authors = authors if authors is not None else sub.authors
    sub.max_papers = max_papers
    if confirmed and sub.status != SubscriberStatus.active:
        confirm(session, sub, source)
    else:
        sub.status_source = sub.status_source or source
    session.add(sub)
    session.flush()
    return sub


def confirm(session: Session, sub: Subscriber, source: str) -> None:
    sub.status = SubscriberStatus.active
    sub.confirmed_at = utcnow()
    sub.unsubscribed_at = None
    sub.status_source = source
    suppression = session.get(Suppression, sub.email)
    if suppression is not None and suppression.reason == "unsubscribe":
        session.delete(suppression)  # they asked back in; bounces and complaints stay suppressed
    session.add(sub)


def unsubscribe(session: Session, sub: Subscriber, source: str) -> None:
    """Idempotent: a second click changes nothing and still succeeds."""
    if sub.status != SubscriberStatus.unsubscribed:
        sub.status = SubscriberStatus.unsubscribed
        sub.unsubscribed_at = utcnow()
        sub.status_source = source
        session.add(sub)
    if session.get(Suppression, sub.email) is None:
        session.add(Suppression(email=sub.email, reason="unsubscribe", source_event=source))
    session.flush()
