"""RFC 5322 message assembly: one multipart/alternative (text + HTML) per email."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from emails.render import RenderedEmail


class MessagePolicy(EmailPolicy):
    """SMTP's policy, except that List-Unsubscribe is folded only between its URIs.

    Python would RFC 2047-encode any "word" longer than a line (78), which turns a long
    signed unsubscribe URL into `=?utf-8?q?...?=` that no mailbox provider reads as a link.
    """

    RAW = frozenset({"list-unsubscribe"})

    def fold(self, name: str, value: str) -> str:
        if name.lower() in self.RAW:
            return f"{name}: " + str(value).replace(", ", f",{self.linesep} ") + self.linesep
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in self.RAW:
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


POLICY = MessagePolicy(linesep="\r\n")


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
    # Quoted-printable, named rather than guessed: 7-bit safe through any relay, still readable.
    msg.set_content(email.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def to_mime(envelope) -> EmailMessage:
    """An `emails.providers.base.Envelope` as RFC 5322, for SMTP and the outbox only."""
    return build_message(
        envelope.rendered,
        to=envelope.to,
        sender=envelope.sender,
        message_id=envelope.message_id,
        when=envelope.when,
    )


@lru_cache(maxsize=16)  # asked per email, of the one FROM_EMAIL
def sender_domain(from_email: str) -> str:
    """The domain of FROM_EMAIL (a Message-ID's, List-Id's and mailto's); remembered, as
    parseaddr costs ~10 us and every email asks twice."""
    return parseaddr(from_email)[1].rpartition("@")[2] or "paperboy.example"
