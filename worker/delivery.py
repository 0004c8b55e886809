"""Delivery: every email Paperboy sends, assembled one way (render -> MIME -> backend).

Digests are sent exactly once: the claim is one conditional UPDATE (planned -> sending), so
two workers never both send a digest. A digest left in `sending` by a killed worker is not
resent (the provider may already have it): it is recorded as failed with a clear reason.
Transactional notices (confirm, welcome, link, email change) are not deduplicated like digests: a
second confirm email on a second sign-up is expected. Previews render the same message and
send nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import update
from sqlmodel import Session, col, select

from config import Settings
from config.celery import backoff_seconds
from emails.message import build_message, sender_domain
from emails.providers import Backend, MailError, get_backend, is_retryable
from emails.render import (
    DigestContext,
    NoticeContext,
    RenderedEmail,
    build_digest,
    build_notice,
    paper_card,
)
from emails.tokens import link
from models import (
    Digest,
    DigestItem,
    DigestStatus,
    Paper,
    Subscriber,
    SubscriberStatus,
    Suppression,
    session_scope,
    subscribers,
    utcnow,
)

STALE_AFTER = timedelta(minutes=30)
NOTICE_LINK = {
    "confirm": "confirm",
    "welcome": "preferences",
    "link": "preferences",
    "email_change": "email",
}


@dataclass(frozen=True)
class SendResult:
    digest_id: int
    outcome: str  # sent | skipped | not_claimed | retry | failed
    detail: str = ""
    retry_in: float | None = None


def claim(session: Session, digest_id: int, now: datetime) -> bool:
    """planned -> sending, atomically; False if another worker has it or it is done."""
    result = session.exec(
        update(Digest)
        .where(col(Digest.id) == digest_id, col(Digest.status) == DigestStatus.planned)
        .values(status=DigestStatus.sending, claimed_at=now, attempts=Digest.attempts + 1)
    )
    return result.rowcount == 1


def _record(digest_id: int, **values) -> None:
    with session_scope() as session:
        session.exec(update(Digest).where(col(Digest.id) == digest_id).values(**values))


def digest_context(
    session: Session, digest: Digest, sub: Subscriber, settings: Settings
) -> DigestContext:
    secret, base = settings.signing_key(), settings.base_url
    rows = session.exec(
        select(DigestItem, Paper)
        .join(Paper, col(Paper.id) == DigestItem.paper_id)
        .where(DigestItem.digest_id == digest.id)
        .order_by(DigestItem.rank)
    ).all()

    def vote(paper_id: str, value: int) -> str:
        return link(
            base, secret, "feedback", sub.id, sub.token_version, paper_id=paper_id, vote=value
        )

    cards = {
        (item.section, item.rank): paper_card(
            paper_id=paper.id,
            title=paper.title,
            abstract=paper.abstract,
            authors=paper.authors,
            reasons=item.reasons,
            more_url=vote(paper.id, 1),
            less_url=vote(paper.id, -1),
            abs_url=paper.abs_url,
            ai_summary=paper.ai_summary,
            on_hf="hf" in paper.first_seen_by,
            upvotes=paper.upvotes,
            comments=paper.num_comments,
            github_repo=paper.github_repo,
            github_stars=paper.github_stars,
            categories=paper.categories,
        )
        for item, paper in rows
    }
    return DigestContext(
        to_email=sub.email,
        edition=digest.planned_at.date(),
        papers=[card for (section, _), card in cards.items() if section == "picks"],
        trending=[card for (section, _), card in cards.items() if section == "trending"],
        postal_address=settings.postal_address,
        digest_ref=f"digest-{digest.id}",
        archive_url=link(base, secret, "digest", sub.id, sub.token_version, digest_id=digest.id),
        **list_links(settings, sub),
    )


def list_links(settings: Settings, sub: Subscriber) -> dict[str, str]:
    """The preferences and unsubscribe links, mailto and List-Id every email to a subscriber
    carries (digests, welcome, link emails)."""
    secret, base = settings.signing_key(), settings.base_url
    unsubscribe = link(base, secret, "unsubscribe", sub.id, sub.token_version)
    domain = sender_domain(settings.from_email)
    return {
        "preferences_url": link(base, secret, "preferences", sub.id, sub.token_version),
        "unsubscribe_url": unsubscribe,
        "unsubscribe_mailto": f"mailto:unsubscribe@{domain}?subject=unsubscribe%20"
        + unsubscribe.rsplit("/", 1)[1],
        "list_id": f"Paperboy digest <digest.{domain}>",
    }


def compose(
    rendered: RenderedEmail, *, to: str, key: str, settings: Settings, when: datetime | None = None
) -> EmailMessage:
    """The one assembly of a rendered email into MIME; `key` makes the Message-ID unique and
    stable (derived from our digest or notice ref), so a resend can be spotted."""
    domain = sender_domain(settings.from_email)
    return build_message(
        rendered, to=to, sender=settings.from_email, message_id=f"<{key}@{domain}>", when=when
    )


def send_digest(
    digest_id: int, settings: Settings, backend: Backend | None = None, now: datetime | None = None
) -> SendResult:
    now = now or utcnow()
    with session_scope() as session:
        if not claim(session, digest_id, now):
            digest = session.get(Digest, digest_id)
            state = digest.status if digest else "missing"
            return SendResult(digest_id, "not_claimed", f"digest is {state}")
    with session_scope() as session:
        digest = session.get(Digest, digest_id)
        sub = session.get(Subscriber, digest.subscriber_id)
        suppressed = session.get(Suppression, sub.email) is not None
        if sub.status != SubscriberStatus.active or suppressed:
            reason = f"subscriber is {sub.status}" + (" and suppressed" if suppressed else "")
            digest.status, digest.last_error = DigestStatus.skipped, reason
            return SendResult(digest_id, "skipped", reason)
        ctx = digest_context(session, digest, sub, settings)
        attempts = digest.attempts
    message = compose(
        build_digest(ctx),
        to=ctx.to_email,
        key=f"{ctx.digest_ref}.{digest.edition}",
        settings=settings,
        when=now,
    )
    try:
        provider_id = (backend or get_backend(settings)).send(message, ref=ctx.digest_ref)
    except MailError as e:
        if is_retryable(e) and attempts < settings.send_max_attempts:
            _record(digest_id, status=DigestStatus.planned, last_error=str(e))
            return SendResult(digest_id, "retry", str(e), retry_in=backoff_seconds(attempts))
        _record(digest_id, status=DigestStatus.failed, last_error=str(e))
        return SendResult(digest_id, "failed", str(e))
    _record(
        digest_id,
        status=DigestStatus.sent,
        sent_at=utcnow(),
        provider_message_id=provider_id,
        last_error=None,
    )
    return SendResult(digest_id, "sent", provider_id)


def fail_stale(session: Session, now: datetime) -> int:
    """Digests stuck in `sending` (a worker died mid-send): record, never resend blindly."""
    result = session.exec(
        update(Digest)
        .where(
            col(Digest.status) == DigestStatus.sending, col(Digest.claimed_at) < now - STALE_AFTER
        )
        .values(
            status=DigestStatus.failed,
            last_error="interrupted during send; delivery state unknown, not retried "
            "to avoid a duplicate email",
        )
    )
    return result.rowcount


def planned_ids(session: Session) -> list[int]:
    return list(
        session.exec(
            select(Digest.id).where(Digest.status == DigestStatus.planned).order_by(Digest.id)
        )
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
            sub.id,
            sub.token_version,
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
    message = compose(build_notice(ctx), to=ctx.to_email, key=ref, settings=settings, when=now)
    return (backend or get_backend(settings)).send(message, ref=ref)


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
    message = compose(rendered, to=ctx.to_email, key=f"preview.{ctx.digest_ref}", settings=settings)
    return f"{ctx.digest_ref}-{sub.id}", rendered, message
