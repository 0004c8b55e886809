"""Delivery: every email Paperboy sends, assembled one way (render -> Envelope -> backend).

Digests go out in chunks (one task each). A chunk is sent in waves of SEND_CONCURRENCY
digests: claim the wave (one conditional UPDATE planned -> sending, only while the run is
running), load it with two queries, render (a paper's part of a card once per process and
version of the paper), draw tokens from the global rate limit, send concurrently over the
process's kept-alive connections (SMTP: one connection, in turn), record every outcome in
batched UPDATEs. The next wave is claimed and rendered while one is out (`waves`). The claim
commits with the render, so a worker killed while rendering leaves its wave `planned`; one
killed later leaves at most a rendered wave and one in flight `sending`, for the provider's
evidence or the reaper to settle. Between waves the run's state is the switch: paused or
cancelled, and the next claim takes nothing.

Outcomes: sent; skipped (unsubscribed or suppressed by the time of the claim, or by the last
word: read again just before the wave's requests leave); a transient
error (network, 429, 5xx) puts the digest back to `planned` with its own retry time (429: the
provider's Retry-After, also held by every sender); a request written whole that got no
answer (a reset, a hang-up, a timeout) may have been accepted: it waits at least
SEND_UNANSWERED_WAIT_SECONDS for the provider's evidence, and every retry reads that evidence
once more just before it would be posted (`provider_word`); a permanent one (400, 413, SMTP 5xx)
fails only that digest, with the provider's message; a refused credential (401/403) pauses
the run without counting an attempt. Transient failures in a row trip the circuit breaker:
the run pauses and resumes itself after a cool-down (`tasks.resume_run`, scheduled by the
chunk that saw the pause; the reaper is the safety net). With no broker (embedded mode)
the chunk itself waits out retries, up to a bounded total, so a run ends with every digest
sent or failed with a reason.

Transactional notices (confirm, welcome, link, email change) are not deduplicated like digests: a
second confirm email on a second sign-up is expected. Previews render the same message and
send nothing.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import NamedTuple

from sqlalchemy import (
    ARRAY,
    Text,
    Update,
    bindparam,
    cast,
    func,
    null,
    update,
)
from sqlmodel import Session, col, select

from config import Settings
from config.celery import backoff_seconds
from emails.message import sender_domain, to_mime
from emails.providers import Backend, Envelope, MailError, get_backend, is_retryable
from emails.render import (
    DigestContext,
    NoticeContext,
    PaperCard,
    ReaderCard,
    RenderedEmail,
    build_digest,
    build_notice,
    links_are_hrefs,
    page_url,
    paper_face,
    stored_for_reader,
    web_url,
)
from emails.tokens import link, reader_links
from models import (
    Digest,
    DigestItem,
    DigestStatus,
    Paper,
    RunState,
    SendRun,
    Subscriber,
    SubscriberStatus,
    Suppression,
    digest_ref,
    get_engine,
    schedule,
    session_scope,
    subscribers,
    utcnow,
)
from models.db import arrays, listed, pages
from worker.delivery import policy, ratelimit, reaper, runs
from worker.ingest import registry

log = logging.getLogger(__name__)
NOTICE_LINK = {
    "confirm": "confirm",
    "welcome": "preferences",
    "link": "preferences",
    "email_change": "email",
}


@dataclass(frozen=True)
class SendResult:
    digest_id: int
    outcome: str  # sent | skipped | retry | failed | paused | not_claimed
    detail: str = ""
    retry_at: datetime | None = None
    provider_id: str | None = None
    reason: str | None = None  # short code for failed / skipped digests


@dataclass(frozen=True)
class Job:
    digest_id: int
    attempts: int
    envelope: Envelope
    subscriber_id: int


DIGESTS = Digest.__table__
READERS = Subscriber.__table__
RUNS = SendRun.__table__
ITEMS = DigestItem.__table__
PAPERS = Paper.__table__
SUPPRESSIONS = Suppression.__table__


# A wave's statements, built once for each `arrays` (Core, no ORM: a wave runs a few of them
# for 64 emails, and building a statement or going through the ORM costs more than PostgreSQL
# takes to run it).
def _claim(on: bool) -> Update:
    return (
        update(DIGESTS)
        .where(
            listed(DIGESTS.c.id, "ids", on),
            DIGESTS.c.run_id == bindparam("run"),
            DIGESTS.c.status == DigestStatus.planned,
            DIGESTS.c.next_attempt_at.is_(None) | (DIGESTS.c.next_attempt_at <= bindparam("now")),
            select(RUNS.c.id)
            .where(RUNS.c.id == bindparam("run"), RUNS.c.state == RunState.running)
            .exists(),
        )
        .values(
            status=DigestStatus.sending,
            claimed_at=bindparam("now"),
            attempts=DIGESTS.c.attempts + 1,
        )
        .returning(DIGESTS.c.id)
    )


CLAIM = {on: _claim(on) for on in (False, True)}


def claim(session: Session, run_id: int, digest_ids: list[int], now: datetime) -> list[int]:
    """planned -> sending for those of `digest_ids` that are due, while their run is running;
    one statement, so two workers never both take a digest."""
    conn = session.connection()
    rows = conn.execute(CLAIM[arrays(conn)], {"ids": digest_ids, "run": run_id, "now": now})
    return sorted(rows.scalars())


CARDS = {
    on: select(
        ITEMS.c.digest_id,
        ITEMS.c.section,
        cast(ITEMS.c.reasons, Text).label("reasons"),  # the text: `reader_lines` keys by it
        PAPERS.c.id,
        PAPERS.c.updated_at,
        PAPERS.c.abs_url,
    )
    .join(PAPERS, PAPERS.c.id == ITEMS.c.paper_id)
    .where(listed(ITEMS.c.digest_id, "ids", on))
    .order_by(ITEMS.c.digest_id, ITEMS.c.rank)
    for on in (False, True)
}
FACE_COLUMNS = (
    Paper.id,
    Paper.title,
    Paper.abstract,
    Paper.authors,
    Paper.pdf_url,
    Paper.ai_summary,
    Paper.first_seen_by,
    Paper.upvotes,
    Paper.num_comments,
    Paper.github_repo,
    Paper.github_stars,
    Paper.categories,
)
# What this process has rendered of each paper (`paper_face`), by (paper id, updated_at): an
# edition's thousands of readers share a few hundred papers, whose text is read and rendered
# once; a changed paper is a new key.
FACES: dict[tuple[str, datetime], PaperCard] = {}
FACES_KEPT = 5000  # papers; then the cache starts afresh (one edition's candidates fit)


# A digest item as `_context` completes it for the reader: (section, paper id, its reasons as
# stored (JSON text: `reader_lines` knows a set by it), whether the paper has a page of its
# own to open (`page_url`), the paper's face)
Item = tuple[str, str, str, bool, PaperCard]


def card_rows(session: Session, digest_ids: list[int]) -> dict[int, list[Item]]:
    """Each digest's papers in rank order (plain rows, no ORM objects: a wave reads
    hundreds)."""
    conn = session.connection()
    rows = conn.execute(CARDS[arrays(conn)], {"ids": digest_ids}).all()
    faces = {key: FACES.get(key) for key in {(pid, at) for _, _, _, pid, at, _ in rows}}
    missing = {key for key, face in faces.items() if face is None}
    if missing:
        faces |= load_faces(session, missing)
    out: dict[int, list[Item]] = defaultdict(list)
    for digest_id, section, reasons, paper_id, updated_at, abs_url in rows:
        linked = page_url(abs_url) is not None
        out[digest_id].append((section, paper_id, reasons, linked, faces[paper_id, updated_at]))
    return out


def load_faces(session: Session, keys: set[tuple[str, datetime]]) -> dict:
    """Read and render these papers (one query), each under the version asked for (a paper
    updated since is rendered as it is now), and keep them in FACES."""
    if len(FACES) + len(keys) > FACES_KEPT:
        FACES.clear()
    made = {}
    for row in session.exec(select(*FACE_COLUMNS).where(col(Paper.id).in_({k for k, _ in keys}))):
        source, pages = registry.provenance(row.id, row.first_seen_by)
        made[row.id] = paper_face(
            title=row.title,
            abstract=row.abstract,
            authors=row.authors,
            ai_summary=row.ai_summary,
            key=row.id,
            pdf_url=row.pdf_url,
            source=source,
            pages=pages,
            upvotes=row.upvotes,
            comments=row.num_comments,
            github_repo=row.github_repo,
            github_stars=row.github_stars,
            categories=row.categories,
        )
    loaded = {key: made[key[0]] for key in keys}
    FACES.update(loaded)
    return loaded


def _context(
    *, digest, sub, rows: Iterable[Item], secret: str, settings: Settings
) -> DigestContext:
    """`digest` and `sub`: rows or records with the columns `load` reads; `rows`: the
    digest's `card_rows`."""
    make = reader_links(settings.base_url, secret, sub.id, sub.token_version)
    hrefs = links_are_hrefs(settings.base_url)
    cards: dict[str, list[ReaderCard]] = {"picks": [], "trending": []}  # in rank order
    for section, paper_id, reasons, linked, face in rows:
        url = make("click", paper_id, digest.id) if linked else None  # counted, then opened
        cards[section].append(
            stored_for_reader(
                face,
                stored=reasons,
                more_url=make("feedback", paper_id, 1),
                less_url=make("feedback", paper_id, -1),
                url=url if hrefs or url is None else web_url(url),
            )
        )
    archive = make("digest", digest.id)
    return DigestContext(
        to_email=sub.email,
        frequency=sub.frequency,
        edition=edition_date(digest, sub),
        note=digest.note or "",
        papers=cards["picks"],
        trending=cards["trending"],
        postal_address=settings.postal_address,
        digest_ref=digest_ref(digest.id),
        archive_url=archive,
        bibtex_url=f"{archive}/bibtex",
        feed_url=make("feed"),
        **list_links(settings, sub),
    )


def list_links(settings: Settings, sub: Subscriber) -> dict[str, str]:
    """The preferences and unsubscribe links, mailto and List-Id every email to a subscriber
    carries (digests, welcome, link emails)."""
    secret, base = settings.signing_key(), settings.base_url
    unsubscribe = link(base, secret, "unsubscribe", subscriber_id=sub.id, version=sub.token_version)
    domain = sender_domain(settings.from_email)
    return {
        "preferences_url": link(
            base, secret, "preferences", subscriber_id=sub.id, version=sub.token_version
        ),
        "unsubscribe_url": unsubscribe,
        "unsubscribe_mailto": f"mailto:unsubscribe@{domain}?subject=unsubscribe%20"
        + unsubscribe.rsplit("/", 1)[1],
        "list_id": f"Paperboy digest <digest.{domain}>",
    }


def edition_date(digest: Digest, sub: Subscriber) -> date:
    """The reader's local date: a daily edition is named by it; a weekly one ("2026-W48") is
    dated by the local day it was planned."""
    try:
        return date.fromisoformat(digest.edition)
    except ValueError:
        return schedule.local_time(sub, digest.planned_at).date()


def digest_context(
    session: Session, digest: Digest, sub: Subscriber, settings: Settings
) -> DigestContext:
    rows = card_rows(session, [digest.id])[digest.id]
    return _context(
        digest=digest, sub=sub, rows=rows, secret=settings.signing_key(), settings=settings
    )


def envelope(
    rendered: RenderedEmail,
    *,
    to: str,
    ref: str,
    key: str,
    settings: Settings,
    when: datetime | None = None,
    category: str = "",
) -> Envelope:
    """`key` makes the Message-ID unique and stable (derived from our digest or notice ref),
    so a resend can be spotted."""
    domain = sender_domain(settings.from_email)
    return Envelope(
        rendered=rendered,
        to=to,
        sender=settings.from_email,
        ref=ref,
        message_id=f"<{key}@{domain}>",
        when=when,
        category=category,
    )


WAVE_DIGEST = (
    DIGESTS.c.id,
    DIGESTS.c.attempts,
    DIGESTS.c.edition,
    DIGESTS.c.note,
    DIGESTS.c.planned_at,
)
WAVE_READER = (
    READERS.c.id,
    READERS.c.email,
    READERS.c.status,
    READERS.c.token_version,
    READERS.c.frequency,
    READERS.c.timezone,
)
WAVE = {
    on: select(
        *WAVE_DIGEST,
        *WAVE_READER,
        select(SUPPRESSIONS.c.email)
        .where(SUPPRESSIONS.c.email == READERS.c.email)
        .exists()
        .label("suppressed"),
    )
    .join(READERS, READERS.c.id == DIGESTS.c.subscriber_id)
    .where(listed(DIGESTS.c.id, "ids", on))
    .order_by(DIGESTS.c.id)
    for on in (False, True)
}


def load(
    session: Session, digest_ids: list[int], settings: Settings, now: datetime
) -> tuple[list[Job], list[SendResult]]:
    """Claimed digests as rendered envelopes (two queries for the wave, read as plain rows:
    ORM objects cost more than the rendering), and the ones settled here: skipped because the
    reader left or the address is suppressed since planning, or failed because they cannot be
    rendered."""
    conn = session.connection()
    rows = conn.execute(WAVE[arrays(conn)], {"ids": digest_ids}).all()
    items = card_rows(session, digest_ids)
    secret = settings.signing_key()
    jobs, settled = [], []
    split = len(WAVE_DIGEST)
    for row in rows:
        did, attempts, edition, note, planned_at = row[:split]
        digest, sub = WaveDigest(did, edition, note, planned_at), WaveReader(*row[split:-1])
        if (left := _left(did, sub.status, row.suppressed)) is not None:
            settled.append(left)
            continue
        try:
            ctx = _context(
                digest=digest, sub=sub, rows=items[did], secret=secret, settings=settings
            )
            message = envelope(
                build_digest(ctx),
                to=ctx.to_email,
                ref=ctx.digest_ref,
                key=f"{ctx.digest_ref}.{edition}",
                settings=settings,
                when=now,
                category="digest",
            )
        except Exception as e:  # one digest that cannot be rendered must not stall the run
            log.exception("digest %s could not be rendered", did)
            settled.append(SendResult(did, "failed", f"render failed: {e!r}", reason="render"))
            continue
        jobs.append(Job(did, attempts, message, sub.id))
    return jobs, settled


class WaveDigest(NamedTuple):
    """What rendering needs of a digest (`WAVE_DIGEST` but the attempts)."""

    id: int
    edition: str
    note: str | None
    planned_at: datetime


class WaveReader(NamedTuple):
    """What rendering and the skip rule need of a reader (`WAVE_READER`)."""

    id: int
    email: str
    status: str
    token_version: int
    frequency: str
    timezone: str


def _left(digest_id: int, status: str, suppressed: bool) -> SendResult | None:
    """Skipped, if the reader is no longer active or the address is suppressed."""
    if status == SubscriberStatus.active and not suppressed:
        return None
    reason = "suppressed" if suppressed else "inactive"
    return SendResult(digest_id, "skipped", f"subscriber is {status}", reason=reason)


# The last word in one query: each reader's status (id, status, NULL), then each of the
# wave's addresses that is suppressed (NULL, NULL, email).
LAST_WORD = {
    on: select(READERS.c.id, READERS.c.status, null().label("email"))
    .where(listed(READERS.c.id, "ids", on))
    .union_all(
        select(null(), null(), SUPPRESSIONS.c.email).where(
            listed(SUPPRESSIONS.c.email, "emails", on)
        )
    )
    for on in (False, True)
}


def last_word(session: Session, jobs: list[Job]) -> tuple[list[Job], list[SendResult]]:
    """The reader has the last word: just before a wave's requests leave (after the rate
    limit's wait), status and suppressions are read again, and whoever left since the claim
    is skipped. One query of two index lookups per wave."""
    conn = session.connection()
    ids, emails = [j.subscriber_id for j in jobs], [j.envelope.to for j in jobs]
    rows = conn.execute(LAST_WORD[arrays(conn)], {"ids": ids, "emails": emails}).all()
    status = {reader: state for reader, state, _ in rows if reader is not None}
    suppressed = {email for _, _, email in rows if email is not None}
    keep, left = [], []
    for job in jobs:
        gone = _left(
            job.digest_id, status.get(job.subscriber_id, "deleted"), job.envelope.to in suppressed
        )
        if gone is None:
            keep.append(job)
        else:
            left.append(gone)
    return keep, left


def provider_word(
    session: Session, jobs: list[Job], settings: Settings
) -> tuple[list[Job], list[SendResult]]:
    """A retry is posted again only when the provider's evidence, read once more just before,
    does not settle it (`reaper.recheck`, which records what it settles); a first attempt
    costs nothing here."""
    retries = {j.digest_id: j.attempts for j in jobs if j.attempts > 1}
    known = reaper.recheck(session, retries, settings) if retries else {}
    return [j for j in jobs if j.digest_id not in known], [
        SendResult(d, status, "settled before a resend") for d, status in known.items()
    ]


def post(
    backend: Backend, jobs: list[Job], pool: ThreadPoolExecutor
) -> Callable[[], list[str | MailError]]:
    """A wave's requests handed to the pool, not waited for: to the backend's own `send_all`
    when it has one (the whole wave from one thread), else one `send` per job on the pool's
    threads. Returns what waits for the answers: each job's message id or MailError, in
    order."""
    if hasattr(backend, "send_all"):
        return pool.submit(backend.send_all, [job.envelope for job in jobs]).result
    sends = [pool.submit(_send, backend, job) for job in jobs]
    return lambda: [send.result() for send in sends]


def _send(backend: Backend, job: Job) -> str | MailError:
    try:
        return backend.send(job.envelope)
    except MailError as e:
        return e
    except Exception as e:  # a bug building this one request fails it, not the whole wave
        log.exception("digest %s: sending raised", job.digest_id)
        return MailError(backend.name, f"could not send: {e!r}", transient=False)


def outcome(job: Job, result: str | MailError, settings: Settings, now: datetime) -> SendResult:
    """What one send's result means for its digest (pure)."""
    if isinstance(result, str):
        return SendResult(job.digest_id, "sent", provider_id=result)
    error, detail = result, str(result)
    if error.auth:
        return SendResult(job.digest_id, "paused", detail)
    if not is_retryable(error):
        code = f"{error.provider}_{error.status or 'error'}"
        return SendResult(job.digest_id, "failed", detail, reason=code)
    if job.attempts >= settings.send_max_attempts and not error.unanswered:
        return SendResult(job.digest_id, "failed", detail, reason="attempts")
    delay = backoff_seconds(
        job.attempts - 1, base=settings.send_retry_base_seconds, retry_after=error.retry_after
    )
    kind = "rate_limited" if error.status == 429 else "transient"  # 429 is rate, not health
    if error.unanswered:  # the provider may have it: its evidence first (`reaper.recheck`)
        delay, kind = max(delay, settings.send_unanswered_wait_seconds), runs.UNANSWERED
    return SendResult(
        job.digest_id, "retry", detail, retry_at=now + timedelta(seconds=delay), reason=kind
    )


# What each outcome sets: the fields of its `SendResult` it takes besides `digest_id` (the
# key), and its values from them (`row`: each field's bound parameter or column; `at` is the
# time recorded, one for all).
OUTCOMES = {
    "sent": (
        ("provider_id",),
        lambda row: dict(
            status=DigestStatus.sent,
            provider_message_id=row["provider_id"],
            sent_at=bindparam("at"),
            last_error=None,
            fail_reason=None,
        ),
    ),
    **{
        kind: (
            ("detail", "reason"),
            lambda row, kind=kind: dict(
                status=DigestStatus(kind), last_error=row["detail"], fail_reason=row["reason"]
            ),
        )
        for kind in ("failed", "skipped")
    },
    "retry": (
        ("detail", "reason", "retry_at"),
        lambda row: dict(
            status=DigestStatus.planned,
            queued_at=None,
            last_error=row["detail"],
            fail_reason=row["reason"],
            next_attempt_at=row["retry_at"],
        ),
    ),
    "paused": (  # a refused credential is ours to fix: the attempt does not count
        ("detail",),
        lambda row: dict(
            status=DigestStatus.planned,
            queued_at=None,
            last_error=row["detail"],
            attempts=DIGESTS.c.attempts - 1,
        ),
    ),
}
FIELD_COLUMNS = {
    "digest_id": DIGESTS.c.id,
    "provider_id": DIGESTS.c.provider_message_id,
    "detail": DIGESTS.c.last_error,
    "reason": DIGESTS.c.fail_reason,
    "retry_at": DIGESTS.c.next_attempt_at,
}


def _recorded(kind: str, on: bool) -> Update:
    """One outcome's UPDATE: an executemany by primary key, or (arrays, PostgreSQL) one
    statement for every row, each field one array (`unnest`): 32 rows are otherwise 32
    executions, each as much work for the database as the whole."""
    fields, values = OUTCOMES[kind]
    names = ("digest_id", *fields)
    if on:
        rows = (
            func.unnest(*(bindparam(n, type_=ARRAY(FIELD_COLUMNS[n].type)) for n in names))
            .table_valued(*names)
            .render_derived()
        )
        row = {n: rows.c[n] for n in names}
    else:
        row = {n: bindparam(n) for n in names}
    statement = update(DIGESTS).where(DIGESTS.c.id == row["digest_id"]).values(**values(row))
    if kind == "retry":  # unless the provider's evidence settled it meanwhile
        statement = statement.where(DIGESTS.c.status == DigestStatus.sending)
    return statement


RECORDED = {on: {kind: _recorded(kind, on) for kind in OUTCOMES} for on in (False, True)}
# The run's heartbeat and breaker count: one atomic UPDATE, every worker's waves count into it.
HEARTBEAT = update(RUNS).where(RUNS.c.id == bindparam("run")).returning(RUNS.c.transient_streak)
STREAK = {
    True: HEARTBEAT.values(heartbeat_at=bindparam("at"), transient_streak=0),  # a send went out
    False: HEARTBEAT.values(
        heartbeat_at=bindparam("at"),
        transient_streak=RUNS.c.transient_streak + bindparam("failures"),
    ),
}


def record(
    *, session: Session, run_id: int, results: list[SendResult], settings: Settings, now: datetime
) -> bool:
    """Every outcome of a wave in a few batched UPDATEs, then the run's heartbeat and breaker
    count; whether the run pauses is `policy.after_wave`'s to say. True if it paused it."""
    conn = session.connection()
    by: dict[str, list[SendResult]] = defaultdict(list)
    for r in results:
        by[r.outcome].append(r)
    on = arrays(conn)
    for kind, statement in RECORDED[on].items():
        if not (rows := by[kind]):
            continue
        names = ("digest_id", *OUTCOMES[kind][0])
        if on:
            conn.execute(statement, {"at": now} | {n: [getattr(r, n) for r in rows] for n in names})
        else:
            conn.execute(statement, [{"at": now} | {n: getattr(r, n) for n in names} for r in rows])
    wave = policy.Wave(
        sent=len(by["sent"]),
        refused=tuple(r.detail for r in by["paused"]),
        transient=tuple(
            r.detail for r in by["retry"] if r.reason in ("transient", runs.UNANSWERED)
        ),
    )
    streak = conn.execute(
        STREAK[wave.resets_streak], {"run": run_id, "at": now, "failures": len(wave.transient)}
    ).scalar_one()
    pause = policy.after_wave(wave, streak, settings, now)
    return pause is not None and runs.pause(session, run_id, pause.reason, pause.resume_at)


class Claimed(NamedTuple):
    """A wave claimed and rendered: its envelopes, and what was settled at the claim."""

    jobs: list[Job]
    settled: list[SendResult]


@dataclass(frozen=True)
class Flight:
    """A wave whose requests are out: what waits for their answers, what was recorded before
    they left (settled at the claim, or by the provider's word) and the readers' last word,
    recorded with the answers."""

    run_id: int
    jobs: list[Job]
    answers: Callable[[], list[str | MailError]]
    recorded: list[SendResult]
    left: list[SendResult]


RUN_STATE = select(RUNS.c.state).where(RUNS.c.id == bindparam("run"))


def prepare(
    session: Session, run_id: int, digest_ids: list[int], *, settings: Settings
) -> Claimed | None:
    """Claim and render a wave, recording what is settled at once, and commit; None when the
    run is no longer running, an empty `Claimed` when none of it was due and still planned."""
    now = utcnow()
    claimed = claim(session, run_id, digest_ids, now)
    if not claimed:
        state = session.connection().execute(RUN_STATE, {"run": run_id}).scalar()
        session.commit()
        return None if state != RunState.running else Claimed([], [])
    jobs, settled = load(session, claimed, settings, now)
    if settled:
        record(session=session, run_id=run_id, results=settled, settings=settings, now=now)
    session.commit()  # the claim, once rendered
    return Claimed(jobs, settled)


def launch(
    session: Session,
    run_id: int,
    wave: Claimed,
    *,
    settings: Settings,
    backend: Backend,
    pool: ThreadPoolExecutor,
) -> Flight:
    """The rate limit's tokens, the readers' and the provider's last word (committed), then
    the wave's requests handed to the send threads (`post`), not waited for."""
    jobs, left, known = wave.jobs, [], []
    if jobs:
        ratelimit.limiter(settings.send_rate_per_second, settings.redis_url).acquire(len(jobs))
        jobs, left = last_word(session, jobs)
        jobs, known = provider_word(session, jobs, settings)
        session.commit()
    return Flight(run_id, jobs, post(backend, jobs, pool), wave.settled + known, left)


def land(session: Session, flight: Flight, *, settings: Settings) -> tuple[list[SendResult], bool]:
    """A flight's answers recorded and committed (a 429's Retry-After held by every sender):
    every result of its wave, and whether they paused the run (the breaker, or refused
    credentials)."""
    sent = flight.answers()
    done = utcnow()
    results = flight.left + [
        outcome(job, r, settings, done) for job, r in zip(flight.jobs, sent, strict=True)
    ]
    holds = [r.retry_after for r in sent if isinstance(r, MailError) and r.retry_after]
    if holds:
        ratelimit.limiter(settings.send_rate_per_second, settings.redis_url).hold(max(holds))
    paused = record(
        session=session, run_id=flight.run_id, results=results, settings=settings, now=done
    )
    session.commit()
    return flight.recorded + results, paused


RELEASE = {
    on: update(DIGESTS)
    .where(listed(DIGESTS.c.id, "ids", on), DIGESTS.c.status == DigestStatus.sending)
    .values(status=DigestStatus.planned, queued_at=None, attempts=DIGESTS.c.attempts - 1)
    for on in (False, True)
}


def release(session: Session, wave: Claimed) -> None:
    """A wave claimed while the one before it paused the run goes back unsent, its attempt
    not counted."""
    if wave.jobs:
        conn = session.connection()
        conn.execute(RELEASE[arrays(conn)], {"ids": [j.digest_id for j in wave.jobs]})
        session.commit()


def send_wave(
    run_id: int,
    digest_ids: list[int],
    *,
    settings: Settings,
    backend: Backend,
    pool: ThreadPoolExecutor,
) -> list[SendResult] | None:
    """Claim, render, send and record one wave; None when the run is no longer running."""
    with one_connection() as session:
        wave = prepare(session, run_id, digest_ids, settings=settings)
        if wave is None or not (wave.jobs or wave.settled):
            return None if wave is None else []
        flight = launch(session, run_id, wave, settings=settings, backend=backend, pool=pool)
        return land(session, flight, settings=settings)[0]


def waves(
    run_id: int,
    digest_ids: list[int],
    *,
    settings: Settings,
    backend: Backend,
    pool: ThreadPoolExecutor,
) -> tuple[list[SendResult], bool]:
    """`send_wave` over these digests, on one pooled connection, each wave claimed and
    rendered while the one before it is out, so a worker process keeps its core busy through
    the provider's answer time (one process per core is enough). Every result, and whether
    the run stopped: paused or cancelled (seen at a claim), or paused by a wave's answers,
    when the wave claimed meanwhile goes back unsent (`release`); the rest is nobody's to
    send now."""
    size = settings.send_concurrency
    results: list[SendResult] = []
    flight: Flight | None = None
    with one_connection() as session:
        for start in range(0, len(digest_ids), size):
            paused = False
            try:
                wave = prepare(session, run_id, digest_ids[start : start + size], settings=settings)
            finally:  # what is out is recorded, whatever became of the claim
                if flight is not None:
                    session.rollback()  # of a claim that failed, if one did
                    landed, paused = land(session, flight, settings=settings)
                    results += landed
                    flight = None
            if wave is None or paused:
                if wave is not None:
                    release(session, wave)
                _unqueue(digest_ids[start:])
                return results, True
            if wave.jobs or wave.settled:
                flight = launch(
                    session, run_id, wave, settings=settings, backend=backend, pool=pool
                )
        if flight is None:
            return results, False
        landed, paused = land(session, flight, settings=settings)
        return results + landed, paused


@contextmanager
def one_connection() -> Iterator[Session]:
    """A session whose transactions (each committed as the waves go) share one pooled
    connection: a wave's three transactions would otherwise check one out (and ping it) each.
    The last is committed at the end; an error rolls back only the one it interrupted."""
    with get_engine().connect() as conn, session_scope(bind=conn) as session:
        yield session


def send_chunk(
    run_id: int,
    digest_ids: list[int],
    *,
    settings: Settings,
    backend: Backend | None = None,
    in_process: bool = False,
) -> list[SendResult]:
    """Send a chunk of a run's digests (`waves`). `in_process` (no broker): wait out the
    retries here, for at most SEND_IN_PROCESS_MAX_WAIT_SECONDS in all, then fail what is
    left."""
    backend = backend or get_backend(settings)
    final: dict[int, SendResult] = {}
    todo, waited = sorted(digest_ids), 0.0
    try:
        with ThreadPoolExecutor(backend.concurrency, thread_name_prefix="send") as pool:
            while True:
                results, stopped = waves(
                    run_id, todo, settings=settings, backend=backend, pool=pool
                )
                final.update((r.digest_id, r) for r in results)
                if stopped:
                    return list(final.values())
                if not in_process:
                    break
                retry_at = waiting(digest_ids)
                wait = max((min(retry_at.values(), default=utcnow()) - utcnow()).total_seconds(), 0)
                if not retry_at or (wait == 0 and not results):
                    break  # nothing to wait for, or due and still not ours: a worker's concern
                if waited + wait > settings.send_in_process_max_wait_seconds:
                    _give_up(retry_at, waited)
                    break
                time.sleep(wait)
                waited += wait
                now = utcnow()
                todo = sorted(d for d, at in retry_at.items() if at <= now)
    finally:
        backend.close()
    with session_scope() as session:
        runs.finish_if_done(session, run_id, utcnow())
    return list(final.values())


def waiting(digest_ids: list[int]) -> dict[int, datetime]:
    """Those of the chunk planned for a later retry, and when."""
    with session_scope() as session:
        return {
            d: at
            for page in pages(digest_ids)
            for d, at in session.exec(
                select(Digest.id, Digest.next_attempt_at).where(
                    col(Digest.id).in_(page),
                    Digest.status == DigestStatus.planned,
                    col(Digest.next_attempt_at).is_not(None),
                )
            )
        }


def _unqueue(digest_ids: list[int]) -> None:
    """These are no longer in any queue: a resume (or the reaper) hands them out again."""
    with session_scope() as session:
        runs.update_planned(session, digest_ids, queued_at=None)


def _give_up(retry_at: dict[int, datetime], waited: float) -> None:
    with session_scope() as session:
        runs.update_planned(
            session,
            sorted(retry_at),
            status=DigestStatus.failed,
            fail_reason="gave_up",
            last_error=func.coalesce(Digest.last_error, "")
            + f" (gave up after {waited:.0f}s of retries in process: no broker)",
        )


def send_notice(
    kind: str, subscriber_id: int, settings: Settings, backend: Backend | None = None
) -> str:
    """Confirm / welcome / link / email-change email. Raises MailError so the task can retry.

    An email change goes to the new address, awaiting confirmation; emails to a proven
    subscriber carry the unsubscribe link and one-click headers."""
    with session_scope() as session:
        sub = session.get(Subscriber, subscriber_id)
        if sub is None:
            raise LookupError(f"no subscriber {subscriber_id}")
        to = sub.pending_email if kind == "email_change" else sub.email
        if to is None:
            raise LookupError(f"subscriber {subscriber_id} has no email change pending")
        action = link(
            settings.base_url,
            settings.signing_key(),
            NOTICE_LINK[kind],
            subscriber_id=sub.id,
            version=sub.token_version,
            **({"address": to} if kind == "email_change" else {}),
        )
        proven = kind in ("welcome", "link")
        ctx = NoticeContext(
            kind=kind,
            to_email=to,
            action_url=action,
            postal_address=settings.postal_address,
            **(list_links(settings, sub) if proven else {}),
        )
    now = utcnow()
    ref = f"notice-{kind}-{subscriber_id}-{int(now.timestamp())}"
    message = envelope(
        build_notice(ctx),
        to=ctx.to_email,
        ref=ref,
        key=ref,
        settings=settings,
        when=now,
        category=kind,
    )
    backend = backend or get_backend(settings)
    try:
        return backend.send(message)
    finally:
        backend.close()


def preview_digest(
    session: Session, settings: Settings, email: str
) -> tuple[str, RenderedEmail, EmailMessage]:
    """A subscriber's latest digest rendered and assembled exactly as it would be sent, sent to
    nobody: (digest ref, rendered email, MIME message)."""
    sub = subscribers.find(session, subscribers.normalize_email(email))
    if sub is None:
        raise LookupError(f"no subscriber {email}; add one with `paperboy subscribe`")
    digest = session.exec(
        select(Digest).where(Digest.subscriber_id == sub.id).order_by(col(Digest.id).desc())
    ).first()
    if digest is None:
        raise LookupError(f"{email} has no digest yet; run `paperboy plan --now` first")
    ctx = digest_context(session, digest, sub, settings)
    rendered = build_digest(ctx)
    ref = f"preview.{ctx.digest_ref}"
    message = to_mime(envelope(rendered, to=ctx.to_email, ref=ref, key=ref, settings=settings))
    return f"{ctx.digest_ref}-{sub.id}", rendered, message
