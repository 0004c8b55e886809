"""Transactional emails (confirm, welcome, unsubscribed): build, sign links, send.

Not deduplicated like digests: a second confirm email on a second sign-up is expected.
Failures raise MailError so the Celery task can retry the retryable ones.
"""

from __future__ import annotations

from config import Settings
from emails.backends import Backend, get_backend
from emails.message import build_message, sender_domain
from emails.render import NoticeContext, build_notice
from emails.tokens import link
from models import Subscriber, session_scope, utcnow

ACTION = {"confirm": "confirm", "welcome": "preferences", "unsubscribed": "preferences"}


def send_notice(
    kind: str, subscriber_id: int, settings: Settings, backend: Backend | None = None
) -> str:
    with session_scope() as session:
        sub = session.get(Subscriber, subscriber_id)
        if sub is None:
            raise LookupError(f"no subscriber {subscriber_id}")
        action = link(
            settings.base_url, settings.signing_key(), ACTION[kind], sub.id, sub.token_version
        )
        ctx = NoticeContext(
            kind=kind, to_email=sub.email, action_url=action, postal_address=settings.postal_address
        )
    now = utcnow()
    ref = f"notice-{kind}-{subscriber_id}-{int(now.timestamp())}"
    message = build_message(
        build_notice(ctx),
        to=ctx.to_email,
        sender=settings.from_email,
        message_id=f"<{ref}@{sender_domain(settings.from_email)}>",
        when=now,
    )
    return (backend or get_backend(settings)).send(message, ref=ref)
