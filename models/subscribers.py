"""Subscriber lifecycle: subscribe, confirm, update, unsubscribe. Every change records its source.

An unsubscribe is never lost: it sets the status and adds a suppression row in one
transaction, and the planner and the sender both check suppressions.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config import get_settings
from models.tables import Frequency, Subscriber, SubscriberStatus, Suppression, utcnow

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# Suppressions a new sign-up must not lift: the address cannot or must not receive mail.
HARD_SUPPRESSIONS = ("bounce", "spam_report")


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


def request_subscription(
    session: Session,
    email: str,
    *,
    interests: str,
    now: datetime,
    resend_after: timedelta,
    source: str = "web",
) -> Subscriber | None:
    """Double opt-in, step one: the subscriber to send a confirm email to, or None.

    None when nothing must be sent: already active (their state is left alone), bounced or
    complained, or a confirm email went out less than `resend_after` ago. The caller answers
    the same either way, so the form never reveals whether an address is on the list.
    """
    email = normalize_email(email)
    sub = find(session, email)
    if sub is None:
        try:
            with session.begin_nested():  # a concurrent sign-up for the same address wins
                sub = Subscriber(email=email, interests=interests, status_source=source)
                session.add(sub)
        except IntegrityError:
            sub = find(session, email)
    elif sub.status == SubscriberStatus.pending and interests:
        sub.interests = interests
        session.add(sub)
    session.flush()
    if sub.status not in (SubscriberStatus.pending, SubscriberStatus.unsubscribed):
        return None
    suppression = session.get(Suppression, email)
    if suppression is not None and suppression.reason in HARD_SUPPRESSIONS:
        return None
    return sub if claim_confirm_slot(session, sub.id, now, resend_after) else None


def claim_confirm_slot(
    session: Session, subscriber_id: int, now: datetime, resend_after: timedelta
) -> bool:
    """One conditional UPDATE, so two racing requests cannot both send a confirm email."""
    result = session.exec(
        update(Subscriber)
        .where(
            col(Subscriber.id) == subscriber_id,
            or_(
                col(Subscriber.confirm_sent_at).is_(None),
                col(Subscriber.confirm_sent_at) <= now - resend_after,
            ),
        )
        .values(confirm_sent_at=now)
    )
    return result.rowcount == 1


def release_confirm_slot(session: Session, subscriber_id: int) -> None:
    """The confirm email could not be enqueued: let the reader try again at once."""
    session.exec(
        update(Subscriber).where(col(Subscriber.id) == subscriber_id).values(confirm_sent_at=None)
    )


def confirm_requested(session: Session, sub: Subscriber, source: str) -> bool:
    """Double opt-in, step two; True on the first activation only (idempotent).

    An unsubscribed reader is re-activated only if they asked again after unsubscribing:
    an old confirm link must not undo a later unsubscribe.
    """
    asked_again = (
        sub.status == SubscriberStatus.unsubscribed
        and sub.confirm_sent_at is not None
        and (sub.unsubscribed_at is None or sub.confirm_sent_at > sub.unsubscribed_at)
    )
    if sub.status != SubscriberStatus.pending and not asked_again:
        return False
    confirm(session, sub, source)
    session.flush()
    return True


def confirm(session: Session, sub: Subscriber, source: str) -> None:
    sub.status = SubscriberStatus.active
    sub.confirmed_at = utcnow()
    sub.unsubscribed_at = None
    sub.status_source = source
    suppression = session.get(Suppression, sub.email)
    if suppression is not None and suppression.reason == "unsubscribe":
        session.delete(suppression)  # they asked back in; bounces and complaints stay suppressed
    session.add(sub)


def unsubscribe(session: Session, sub: Subscriber, source: str) -> bool:
    """Idempotent: a second click changes nothing and still succeeds.

    Returns True only on the transition itself (so the caller sends one notice). A bounced or
    complained address keeps that status; it is suppressed either way.
    """
    changed = sub.status in (SubscriberStatus.active, SubscriberStatus.pending)
    if changed:
        sub.status = SubscriberStatus.unsubscribed
        sub.unsubscribed_at = utcnow()
        sub.status_source = source
        session.add(sub)
    suppress(session, sub.email, "unsubscribe", source)
    session.flush()
    return changed


def suppress(session: Session, email: str, reason: str, source: str) -> None:
    """Add a suppression, or harden an unsubscribe one (a re-subscribe must not lift a bounce)."""
    row = session.get(Suppression, email)
    if row is None:
        session.add(Suppression(email=email, reason=reason, source_event=source))
    elif reason in HARD_SUPPRESSIONS and row.reason not in HARD_SUPPRESSIONS:
        row.reason, row.source_event = reason, source
        session.add(row)


def mark_undeliverable(
    session: Session, email: str, status: SubscriberStatus, reason: str, source: str
) -> str:
    """A bounce or spam complaint: status + suppression (even for addresses we don't know)."""
    email = email.strip().lower()
    sub = find(session, email)
    if sub is not None and sub.status != status:
        sub.status, sub.status_source = status, source
        session.add(sub)
    suppress(session, email, reason, source)
    session.flush()
    return f"{status}+suppressed" if sub is not None else "suppressed"


def revoke_links(session: Session, sub: Subscriber) -> None:
    """Every link already sent stops working; the next email carries new ones."""
    sub.token_version += 1
    session.add(sub)
    session.flush()


def split_list(value: object) -> list[str]:
    """'a, b\nc' or a list -> distinct, whitespace-normalized entries, in order."""
    items = re.split(r"[,\n]", value) if isinstance(value, str) else list(value or [])
    seen: dict[str, None] = {}
    for item in items:
        text = " ".join(str(item).split())
        if text:
            seen.setdefault(text, None)
    return list(seen)


class Preferences(BaseModel):
    """What a reader may change on their preferences page; validated before anything is saved.

    Limits come from settings (the one place they are defined), so the form, the CLI and the
    planner agree on them.
    """

    interests: str = ""
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    muted_words: list[str] = Field(default_factory=list)
    frequency: Frequency = Frequency.daily
    max_papers: int = Field(default=10, ge=1)
    send_hour: int = Field(default=7, ge=0, le=23)
    timezone: str = "UTC"

    @field_validator("authors", "categories", "muted_words", mode="before")
    @classmethod
    def _lists(cls, value: object, info: ValidationInfo) -> list[str]:
        settings = get_settings()
        items = split_list(value)
        most = settings.max_list_entries * (2 if info.field_name == "muted_words" else 1)
        if len(items) > most:
            raise ValueError(f"at most {most} entries")
        if any(len(item) > settings.max_entry_chars for item in items):
            raise ValueError(f"each entry must be at most {settings.max_entry_chars} characters")
        return items

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: str) -> str:
        limit = get_settings().max_interests_chars
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        return value.strip()

    @field_validator("max_papers")
    @classmethod
    def _max_papers(cls, value: int) -> int:
        limit = get_settings().max_papers_limit
        if value > limit:
            raise ValueError(f"at most {limit} papers per digest")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        name = value.strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
            ) from None
        return name


def preferences_of(sub: Subscriber) -> Preferences:
    return Preferences.model_construct(
        **{name: getattr(sub, name) for name in Preferences.model_fields}
    )


def apply_preferences(session: Session, sub: Subscriber, prefs: Preferences) -> None:
    for name, value in prefs.model_dump().items():
        setattr(sub, name, value)
    session.add(sub)
    session.flush()
