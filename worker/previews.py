"""`paperboy preview`: render a subscriber's latest digest to files, sending nothing."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from config import Settings
from emails.message import build_message, sender_domain
from emails.render import build_digest
from models import Digest, session_scope, upgrade
from worker import subscribers
from worker.delivery import digest_context


def write_preview(settings: Settings, email: str) -> tuple[Path, Path]:
    upgrade()
    with session_scope() as session:
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
    message = build_message(
        rendered,
        to=ctx.to_email,
        sender=settings.from_email,
        message_id=f"<preview.{ctx.digest_ref}@{sender_domain(settings.from_email)}>",
    )
    folder = settings.paperboy_home / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{ctx.digest_ref}-{sub.id}"
    html, eml = stem.with_suffix(".html"), stem.with_suffix(".eml")
    html.write_text(rendered.html, encoding="utf-8")
    eml.write_bytes(message.as_bytes())
    return html, eml
