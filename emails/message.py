"""RFC 5322 message assembly: one multipart/alternative (text + HTML) per email."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from emails.render import RenderedEmail

# RFC 5322 allows 998-character lines. Folding at 78 makes Python RFC 2047-encode any longer
# "word", which turns the signed URLs in List-Unsubscribe into `=?utf-8?q?...?=` noise that
# no mailbox provider reads as a link.
POLICY = SMTP.clone(max_line_length=998)


def build_message(
    email: RenderedEmail,
    *,
    to: str,
    sender: str,
    message_id: str,
    when: datetime | None = None,
) -> EmailMessage:
    """A stable Message-ID (derived from our digest id by the caller) lets a resend be spotted."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(when or datetime.now(UTC))
    msg["Message-ID"] = message_id
    msg["MIME-Version"] = "1.0"
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.text, subtype="plain", charset="utf-8")
    msg.add_alternative(email.html, subtype="html", charset="utf-8")
    return msg


def sender_domain(from_email: str) -> str:
    return parseaddr(from_email)[1].rpartition("@")[2] or "paperboy.example"
