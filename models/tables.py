"""The database tables. Plain SQLModel classes; no HTTP, email or Celery here."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, DateTime, Enum, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the database; use an aware one")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts(**kw) -> Field:
    """An aware timestamp column (naive datetimes are banned project-wide)."""
    nullable = kw.pop("nullable", True)
    index = kw.pop("index", False)
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index), **kw)


def _json(default_factory=list) -> Field:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


class SubscriberStatus(StrEnum):
    pending = "pending"
    active = "active"
    unsubscribed = "unsubscribed"
    bounced = "bounced"
    complained = "complained"


class Frequency(StrEnum):
    daily = "daily"
    weekly = "weekly"
    off = "off"


class QuietDay(StrEnum):
    """What a reader gets on a day with nothing relevant to their topics."""

    trending = "trending"  # the day's trending papers, marked "a quiet day for your topics"
    no_email = "no_email"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


class DigestStatus(StrEnum):
    planned = "planned"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class RunState(StrEnum):
    running = "running"
    paused = "paused"  # by an operator, a provider refusing our key, or the circuit breaker
    cancelled = "cancelled"
    done = "done"


class Paper(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=128)  # its source's key: an arXiv id, a DOI
    version: int = 1
    title: str
    abstract: str = ""
    authors: list[str] = _json()
    categories: list[str] = _json()  # primary first
    published: datetime | None = _ts()
    updated: datetime | None = _ts()
    abs_url: str | None = None
    pdf_url: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    journal_doi: str | None = None  # a preprint's published version, when its server knows it
    # Hugging Face Daily Papers signals
    upvotes: int = 0
    num_comments: int = 0
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = _json()
    thumbnail: str | None = None
    hf_submitted_at: datetime | None = _ts()
    # Provenance: {"arxiv": iso-time, "hf": iso-time, "sample": iso-time}
    first_seen_by: dict[str, str] = _json(dict)
    first_seen: datetime = _ts(nullable=False, default_factory=utcnow, index=True)
    updated_at: datetime = _ts(nullable=False, default_factory=utcnow)


class Subscriber(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=320)  # normalized
    status: SubscriberStatus = SubscriberStatus.pending
    interests: str = ""
    categories: list[str] = _json()
    sources: list[str] = _json()  # chosen sources by registry name; empty = the defaults
    authors: list[str] = _json()  # followed authors
    muted_words: list[str] = _json()
    frequency: Frequency = Frequency.daily
    max_papers: int = 10
    trending_count: int = 3  # "Trending today" papers after the picks; 0 = no such section
    quiet_day: QuietDay = Field(
        default=QuietDay.trending,
        sa_column=Column(  # stored as plain text (no database enum type), read as QuietDay
            Enum(QuietDay, native_enum=False, length=16, values_callable=_values),
            nullable=False,
            server_default=QuietDay.trending.value,
        ),
    )
    send_hour: int = 7
    send_weekday: int = 0  # weekly digests go out on this local weekday (0 = Monday)
    timezone: str = "UTC"
    paused_until: date | None = None  # no digest before this local date; None = not paused
    pending_email: str | None = Field(default=None, max_length=320)  # awaiting confirmation
    token_version: int = 1  # bump to revoke every link already sent
    created_at: datetime = _ts(nullable=False, default_factory=utcnow)
    confirmed_at: datetime | None = _ts()
    unsubscribed_at: datetime | None = _ts()
    status_source: str | None = None  # what made the last status change (cli, web, webhook...)
    confirm_sent_at: datetime | None = _ts()  # last confirm email enqueued: rate-limits re-sends


class Feedback(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("subscriber_id", "paper_id"),)
    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True)
    paper_id: str = Field(foreign_key="paper.id")
    value: int  # +1 more like this, -1 less like this
    created_at: datetime = _ts(nullable=False, default_factory=utcnow)


class Click(SQLModel, table=True):
    """A reader opened a paper from a digest through its signed title link: a soft like when
    `human` (not a link scanner or prefetcher), never shown as a like. One row per digest and
    paper: a replayed link counts once."""

    __table_args__ = (UniqueConstraint("digest_id", "paper_id"),)
    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True)
    digest_id: int = Field(foreign_key="digest.id")
    paper_id: str = Field(foreign_key="paper.id")
    human: bool
    clicked_at: datetime = _ts(nullable=False, default_factory=utcnow)


class Digest(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("subscriber_id", "edition"),
        # "is anything of this run still to send?" after every wave: one index probe, not a
        # walk over the run's rows (its leading column serves the by-run lookups too)
        Index("ix_digest_run_id_status", "run_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # by reader: the unique (subscriber_id, edition) index, no index of its own (0022)
    subscriber_id: int = Field(foreign_key="subscriber.id")
    edition: str = Field(max_length=32, index=True)  # e.g. "2026-11-22"
    status: DigestStatus = Field(default=DigestStatus.planned, index=True)
    provider_message_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    planned_at: datetime = _ts(nullable=False, default_factory=utcnow)
    claimed_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    run_id: int | None = Field(default=None, foreign_key="send_run.id")
    fail_reason: str | None = Field(default=None, max_length=32)  # short code: why failed/skipped
    next_attempt_at: datetime | None = _ts()  # a retry is not claimed before this
    queued_at: datetime | None = _ts()  # handed to the broker; None = nobody has it queued
    note: str | None = None  # shown above the papers: why a quiet day brings nothing new


DIGEST_REF = "digest-"


def digest_ref(digest_id: int) -> str:
    """Our name for a digest outside the database: the provider's custom args (its events come
    back carrying it) and the outbox file."""
    return f"{DIGEST_REF}{digest_id}"


def digest_ids_of(events: Iterable, kinds: Collection[str]) -> set[int]:
    """The digests these provider events (of these kinds) are about, by the ref they carry."""
    return {
        int(e.ref.removeprefix(DIGEST_REF))
        for e in events
        if e.event_type in kinds and e.ref and e.ref.removeprefix(DIGEST_REF).isdigit()
    }


class SendRun(SQLModel, table=True):
    """One edition's sending: its state, and why it is paused. Counts come from its digests."""

    __tablename__ = "send_run"
    id: int | None = Field(default=None, primary_key=True)
    state: RunState = Field(default=RunState.running, index=True)
    pause_reason: str | None = None
    resume_at: datetime | None = _ts()  # set by the circuit breaker: resumes by itself then
    transient_streak: int = 0  # transient provider failures in a row (the breaker's count)
    planned: int = 0
    created_at: datetime = _ts(nullable=False, default_factory=utcnow)
    heartbeat_at: datetime | None = _ts()  # last outcome recorded: a run without one is idle
    finished_at: datetime | None = _ts()
    resumed_at: datetime | None = _ts()  # the deliverability guard judges only sends after it


class PlanChunk(SQLModel, table=True):
    """A slice of an edition's readers, planned by one task (`paperboy.plan_chunk`); its run
    is not done while a chunk is not. Done once: a redelivered or replanned chunk plans
    nothing twice."""

    __tablename__ = "plan_chunk"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="send_run.id", index=True)
    subscriber_ids: list[int] = Field(sa_column=Column(JSON, nullable=False))
    planned_for: datetime = _ts(nullable=False)  # the planner's `now`, for every chunk alike
    ignore_send_hour: bool = False
    created_at: datetime = _ts(nullable=False, default_factory=utcnow)
    done_at: datetime | None = _ts()


class DigestItem(SQLModel, table=True):
    __tablename__ = "digest_item"
    digest_id: int = Field(foreign_key="digest.id", primary_key=True)
    paper_id: str = Field(foreign_key="paper.id", primary_key=True)
    rank: int
    score: float
    reasons: list[dict] = _json()  # Reason.to_json() each (models/reasons.py)
    section: str = Field(default="picks", max_length=16)  # picks | trending


class Suppression(SQLModel, table=True):
    email: str = Field(primary_key=True, max_length=320)
    reason: str  # bounce | spam_report | unsubscribe
    source_event: str | None = None
    created_at: datetime = _ts(nullable=False, default_factory=utcnow)


class SourceRun(SQLModel, table=True):
    __tablename__ = "source_run"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32, index=True)
    window: str = ""
    status: str = "running"  # running | ok | failed
    fetched: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = _json(dict)
    error: str | None = None
    started_at: datetime = _ts(nullable=False, default_factory=utcnow)
    finished_at: datetime | None = _ts()
    duration_seconds: float | None = None


class DeliveryEvent(SQLModel, table=True):
    """One provider tracking event, normalized; unique (provider, event_id): replays are no-ops."""

    __tablename__ = "delivery_event"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    event_id: str = Field(max_length=128)
    event_type: str = Field(max_length=32, index=True)  # worker.delivery.events.EventType value
    occurred_at: datetime = _ts(nullable=False)
    message_id: str | None = None
    recipient: str = Field(default="", max_length=320, index=True)
    reason: str | None = None
    ref: str | None = Field(default=None, max_length=128, index=True)  # our paperboy_ref
    effect: str | None = None  # what applying it changed, e.g. "bounced+suppressed"
    payload: dict = _json(dict)
    received_at: datetime = _ts(nullable=False, default_factory=utcnow)


class Operator(SQLModel, table=True):
    """A person who may sign in to /admin. Only an Argon2 hash of the password is kept."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=320)  # normalized
    password_hash: str
    created_at: datetime = _ts(nullable=False, default_factory=utcnow)
    last_login_at: datetime | None = _ts()


class AdminSession(SQLModel, table=True):
    """A signed-in operator's session, server-side so it can be revoked. The cookie carries
    the token; only its SHA-256 is stored, so a database dump signs nobody in."""

    __tablename__ = "admin_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    operator_id: int = Field(foreign_key="operator.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False, default_factory=utcnow)
    expires_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts()


class AuditEntry(SQLModel, table=True):
    """Who did what, when: every state-changing admin action, including sign-in and out."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False, default_factory=utcnow, index=True)
    operator: str = Field(max_length=320)  # the operator's email (kept if they are removed)
    action: str = Field(max_length=64)
    target: str = ""
    detail: str = ""
    client: str = Field(default="", max_length=64)
