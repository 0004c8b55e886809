"""Subscriber lifecycle: subscribe, confirm, update, unsubscribe. Every change records its source.

An unsubscribe is never lost: it sets the status and adds a suppression row in one
transaction, and the planner and the sender both check suppressions.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config import get_settings
from models.catalog import OFFERINGS, canonical_category
from models.db import upsert
from models.tables import (
    Frequency,
    QuietDay,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)

# Suppressions a new sign-up must not lift: the address cannot or must not receive mail.
HARD_SUPPRESSIONS = ("bounce", "spam_report")
UNDELIVERABLE = (SubscriberStatus.bounced, SubscriberStatus.complained)


class InvalidEmail(ValueError):
    pass


def normalize_email(raw: str) -> str:
    """Syntax checked by `email-validator` (internationalized domains accepted, no DNS lookup),
    then lowercased: the local part is case-sensitive by RFC, but lowercasing it too is what
    every provider does and stops duplicate sign-ups."""
    try:
        result = validate_email((raw or "").strip(), check_deliverability=False)
    except EmailNotValidError as e:
        raise InvalidEmail(f"not a valid email address: {str(e).rstrip('.')}") from None
    return result.normalized.lower()


def find(session: Session, email: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.email == email)).first()


def subscribe(
    session: Session,
    email: str,
    *,
    confirmed: bool = False,
    source: str = "cli",
    **preferences: Any,
) -> Subscriber:
    """Create (or refresh) a subscriber; `preferences` (fields of `Preferences`) are validated
    as on the web form (ValidationError) and only the ones given change. `confirmed` skips
    double opt-in (CLI, demo, imports of lists that opted in elsewhere)."""
    email = normalize_email(email)
    sub = find(session, email) or Subscriber(email=email)
    update_preferences(session, sub, preferences)
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
    preferences: dict[str, Any],
    now: datetime,
    resend_after: timedelta,
    source: str = "web",
) -> tuple[str, int] | None:
    """Double opt-in, step one: the (notice kind, subscriber id) to email, or None.

    A new or pending address gets a confirm email (its preferences, already validated, are
    stored); an unsubscribed one a confirm email too; an active one its preferences link
    ("link"): signing up again is how a reader who lost every link gets back in, and their
    state is left alone. A bounced or complained address gets a confirm email (confirming
    lifts its suppression). Nothing when we emailed it less than `resend_after` ago. The
    caller answers the same either way, so the form never reveals whether an address is on
    the list.
    """
    email = normalize_email(email)
    sub = find(session, email)
    if sub is None:
        try:
            with session.begin_nested():  # a concurrent sign-up for the same address wins
                sub = Subscriber(email=email, status_source=source)
                update_preferences(session, sub, preferences)
        except IntegrityError:
            sub = find(session, email)
    elif sub.status == SubscriberStatus.pending and preferences:
        update_preferences(session, sub, preferences)
    session.flush()
    return _mail_for(session, sub, now, resend_after, link_if_unsubscribed=False)


def request_link(
    session: Session, email: str, *, now: datetime, resend_after: timedelta
) -> tuple[str, int] | None:
    """ "Email me my link": an existing reader's fresh preferences link (a pending one gets
    their confirm email again); None for an unknown address, answered the same way."""
    sub = find(session, normalize_email(email))
    if sub is None:
        return None
    return _mail_for(session, sub, now, resend_after, link_if_unsubscribed=True)


def _mail_for(
    session: Session,
    sub: Subscriber,
    now: datetime,
    resend_after: timedelta,
    *,
    link_if_unsubscribed: bool,
) -> tuple[str, int] | None:
    # A bounced or complained address gets a confirm email, never a link: only the reader's
    # click on its page (confirm_requested) lifts the suppression.
    wants_link = not _undeliverable(session, sub) and (
        sub.status == SubscriberStatus.active
        or (link_if_unsubscribed and sub.status == SubscriberStatus.unsubscribed)
    )
    if not claim_confirm_slot(session, sub.id, now, resend_after):
        return None
    return ("link" if wants_link else "confirm"), sub.id


def _undeliverable(session: Session, sub: Subscriber) -> bool:
    suppression = session.get(Suppression, sub.email)
    return sub.status in UNDELIVERABLE or (
        suppression is not None and suppression.reason in HARD_SUPPRESSIONS
    )


def claim_confirm_slot(
    session: Session, subscriber_id: int, now: datetime, resend_after: timedelta
) -> bool:
    """One conditional UPDATE, so two racing requests cannot both send a confirm (or link)
    email; the same interval limits both."""
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
    """The email could not be enqueued: let the reader try again at once."""
    session.exec(
        update(Subscriber).where(col(Subscriber.id) == subscriber_id).values(confirm_sent_at=None)
    )


def confirm_requested(session: Session, sub: Subscriber, source: str) -> bool:
    """Double opt-in, step two; True on the first activation only (idempotent).

    An unsubscribed, bounced or complained reader is re-activated only if they asked again
    afterwards: an old confirm link must not undo a later unsubscribe, bounce or complaint.
    Their click proves the mailbox, so it lifts a bounce or complaint suppression too.
    """
    if sub.status == SubscriberStatus.pending:
        confirm(session, sub, source, proven=True)
        session.flush()
        return True
    since = None
    if sub.status == SubscriberStatus.unsubscribed:
        since = sub.unsubscribed_at
    elif sub.status in UNDELIVERABLE:
        suppression = session.get(Suppression, sub.email)
        since = suppression.created_at if suppression is not None else None
    else:
        return False
    if sub.confirm_sent_at is None or (since is not None and sub.confirm_sent_at <= since):
        return False
    confirm(session, sub, source, proven=True)
    session.flush()
    return True


def confirm(session: Session, sub: Subscriber, source: str, *, proven: bool = False) -> None:
    """Activate; `proven` (the reader clicked a link we mailed) lifts any suppression, else
    (CLI, imports) bounces and complaints stay suppressed."""
    sub.status = SubscriberStatus.active
    sub.confirmed_at = utcnow()
    sub.unsubscribed_at = None
    sub.status_source = source
    suppression = session.get(Suppression, sub.email)
    if suppression is not None and (proven or suppression.reason == "unsubscribe"):
        session.delete(suppression)
    session.add(sub)


def unsubscribe(session: Session, sub: Subscriber, source: str) -> bool:
    """Idempotent: a second click changes nothing and still succeeds.

    Returns True only on the transition itself. A bounced or complained address keeps that
    status; it is suppressed either way.
    """
    session.flush()
    _, changed = record_unsubscribe(session, sub.id, source)
    session.expire(sub)
    return changed


def record_unsubscribe(session: Session, subscriber_id: int, source: str) -> tuple[str, bool]:
    """The unsubscribe as two or three statements, for a burst of one-clicks: a conditional
    UPDATE (its row lock orders two clicks for one reader) and an INSERT .. ON CONFLICT DO
    NOTHING of the suppression. Returns (email, whether this call made the change); raises
    LookupError for an unknown subscriber."""
    email = session.exec(
        update(Subscriber)
        .where(
            col(Subscriber.id) == subscriber_id,
            col(Subscriber.status).in_([SubscriberStatus.active, SubscriberStatus.pending]),
        )
        .values(
            status=SubscriberStatus.unsubscribed, unsubscribed_at=utcnow(), status_source=source
        )
        .returning(Subscriber.email)
    ).scalar_one_or_none()
    changed = email is not None
    if email is None:
        email = session.exec(select(Subscriber.email).where(Subscriber.id == subscriber_id)).first()
        if email is None:
            raise LookupError(f"no subscriber {subscriber_id}")
    session.exec(
        upsert(session, Suppression.__table__)
        .values(email=email, reason="unsubscribe", source_event=source, created_at=utcnow())
        .on_conflict_do_nothing()
    )
    return email, changed


def suppress(session: Session, email: str, reason: str, source: str) -> None:
    """Add a suppression, or harden an unsubscribe one (a re-subscribe must not lift a bounce)."""
    row = session.get(Suppression, email)
    if row is None:
        session.add(Suppression(email=email, reason=reason, source_event=source))
    elif reason in HARD_SUPPRESSIONS and row.reason not in HARD_SUPPRESSIONS:
        row.reason, row.source_event = reason, source
        session.add(row)


def mark_undeliverable(
    *, session: Session, email: str, status: SubscriberStatus, reason: str, source: str
) -> str:
    """A bounce or spam complaint: status + suppression (even for addresses we don't know)."""
    email = normalize_email(email)
    sub = find(session, email)
    if sub is not None and sub.status != status:
        sub.status, sub.status_source = status, source
        session.add(sub)
    suppress(session, email, reason, source)
    session.flush()
    return f"{status}+suppressed" if sub is not None else "suppressed"


class EmailTaken(ValueError):
    pass


def request_email_change(session: Session, sub: Subscriber, new_email: str) -> None:
    """Step one of a change of address: remembered until the new address confirms it. Whether
    the address already subscribes is not said here (the confirm step refuses it)."""
    email = normalize_email(new_email)
    if email == sub.email:
        raise InvalidEmail(f"{email} is already your address")
    sub.pending_email = email
    session.add(sub)
    session.flush()


def confirm_email_change(session: Session, sub: Subscriber, address: str) -> None:
    """Step two, from a link only the new mailbox received. Raises LookupError when this change
    is no longer the one pending, EmailTaken when another subscription has the address."""
    if sub.pending_email != address:
        raise LookupError("this change of address was replaced or already done")
    if find(session, address) is not None:
        raise EmailTaken(f"{address} already has a Paperboy subscription")
    sub.email, sub.pending_email = address, None
    if sub.status == SubscriberStatus.bounced:  # the new mailbox answered: deliver there
        sub.status, sub.status_source = SubscriberStatus.active, "web:email"
    suppression = session.get(Suppression, address)
    if suppression is not None:  # the reader just proved this mailbox
        session.delete(suppression)
    session.add(sub)
    session.flush()


def revoke_links(session: Session, sub: Subscriber) -> None:
    """Every preferences, feedback and digest link already sent stops working (unsubscribe
    links never do); the next email carries new ones."""
    sub.token_version += 1
    session.add(sub)
    session.flush()


def split_list(value: object) -> list[str]:
    """'a, b\nc' or a list -> distinct, whitespace-normalized entries, in order. ValueError for
    anything else (a number, an object, a list holding lists)."""
    if isinstance(value, str):
        items: list = re.split(r"[,\n]", value)
    elif isinstance(value, list | tuple):
        items = list(value)
    elif value is None:
        items = []
    else:
        raise ValueError("must be text or a list of text")
    if any(not isinstance(item, str | int | float) for item in items):
        raise ValueError("each entry must be text")
    seen: dict[str, None] = {}
    for item in items:
        text = " ".join(str(item).split())
        if text:
            seen.setdefault(text, None)
    return list(seen)


CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(value: str) -> str:
    """Refuse control characters (a NUL is not storable in PostgreSQL text, the rest are junk)."""
    if CONTROL_CHARS.search(value):
        raise ValueError("contains a control character; use plain text")
    return value


class Preferences(BaseModel):
    """What a reader may change on their preferences page; validated before anything is saved.

    Limits come from settings (the one place they are defined), so the form, the CLI, imports
    and the planner agree on them.
    """

    interests: str = ""
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)  # by registry name; empty = the defaults
    muted_words: list[str] = Field(default_factory=list)
    frequency: Frequency = Frequency.daily
    max_papers: int = Field(default=10, ge=1)
    trending_count: int = Field(default=3, ge=0)  # "Trending today" after the picks; 0 = none
    quiet_day: QuietDay = QuietDay.trending  # nothing relevant today: trending papers, or no email
    send_hour: int = Field(default=7, ge=0, le=23)
    send_weekday: int = Field(default=0, ge=0, le=6)  # weekly digests: 0 = Monday
    timezone: str = "UTC"
    paused_until: date | None = None  # no digest before this local date

    @field_validator("authors", "categories", "muted_words", mode="before")
    @classmethod
    def _lists(cls, value: object, info: ValidationInfo) -> list[str]:
        settings = get_settings()
        items = [plain_text(item) for item in split_list(value)]
        most = settings.max_list_entries * (2 if info.field_name == "muted_words" else 1)
        if len(items) > most:
            raise ValueError(f"at most {most} entries")
        if any(len(item) > settings.max_entry_chars for item in items):
            raise ValueError(f"each entry must be at most {settings.max_entry_chars} characters")
        if info.field_name == "categories":
            items = list(dict.fromkeys(canonical_category(item) for item in items))
        return items

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, value: object) -> list[str]:
        names = list(OFFERINGS)
        items = list(dict.fromkeys(item.strip().casefold() for item in split_list(value)))
        for item in items:
            if item not in names:
                raise ValueError(f"unknown source {item!r}: choose among {', '.join(names)}")
        return items

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: str) -> str:
        limit = get_settings().max_interests_chars
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        return plain_text(value).strip()

    @field_validator("max_papers", "trending_count")
    @classmethod
    def _at_most(cls, value: int, info: ValidationInfo) -> int:
        limit, what = {
            "max_papers": (get_settings().max_papers_limit, "papers per digest"),
            "trending_count": (get_settings().max_trending_count, "trending papers"),
        }[info.field_name]
        if value > limit:
            raise ValueError(f"at most {limit} {what}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        name = value.strip()
        try:
            if CONTROL_CHARS.search(name) or not name:
                raise ValueError
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
            ) from None
        return name

    @field_validator("paused_until", mode="before")
    @classmethod
    def _blank_date(cls, value: object) -> object:
        return None if value == "" else value


FIELD_LABELS = {
    "email": "Email address",
    "interests": "Interests",
    "authors": "Followed authors",
    "categories": "Categories",
    "sources": "Sources",
    "muted_words": "Muted words",
    "frequency": "How often",
    "max_papers": "Papers per digest",
    "trending_count": "Trending papers",
    "quiet_day": "On a quiet day",
    "send_hour": "Send hour",
    "send_weekday": "Weekday",
    "timezone": "Time zone",
    "paused_until": "Pause until",
}
# Pydantic's error types, said the way a reader would ("Input should be less than or equal
# to 23" is pydantic talking to a programmer).
READABLE = {
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "enum": "choose one of {expected}",
    "date_parsing": "must be a date like 2027-01-31",
    "date_from_datetime_parsing": "must be a date like 2027-01-31",
    "date_from_datetime_inexact": "must be a date like 2027-01-31",
    "date_type": "must be a date like 2027-01-31",
    "string_type": "must be text",
    "list_type": "must be a list",
    "extra_forbidden": "is not a setting Paperboy has",
}


def readable_errors(error: ValidationError) -> list[str]:
    """'Send hour: must be at most 23' rather than pydantic's internals."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        template = READABLE.get(item["type"])
        text = (
            template.format(**item.get("ctx", {}))
            if template
            else item["msg"].removeprefix("Value error, ")
        )
        lines.append(f"{FIELD_LABELS.get(field, field)}: {text}")
    return lines


def preferences_of(sub: Subscriber) -> Preferences:
    return Preferences.model_construct(
        **{name: getattr(sub, name) for name in Preferences.model_fields}
    )


def validate_preferences(given: dict[str, Any]) -> dict[str, Any]:
    """The given fields only, validated by the rules of `Preferences` (raises ValidationError):
    forms, imports and partial saves check what they were sent and nothing else."""
    return Preferences.model_validate(given).model_dump(include=set(given))


def update_preferences(session: Session, sub: Subscriber, submitted: dict[str, Any]) -> None:
    """Validate and store only the submitted fields: a field missing from a request keeps its
    value (a partial POST must never wipe the rest), and a stored value that today's rules
    would refuse never blocks an unrelated change. Raises ValidationError."""
    for name, value in validate_preferences(submitted).items():
        setattr(sub, name, value)
    session.add(sub)
    session.flush()
