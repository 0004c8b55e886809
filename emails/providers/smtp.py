"""SMTP delivery: `smtp://` uses STARTTLS when the server offers it, `smtps://` implicit TLS."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from emails.providers.base import MailError


class SMTPBackend:
    name = "smtp"

    def __init__(self, url: str, timeout: float = 20.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://user:pass@host:587, got {url!r}")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def send(self, message: EmailMessage, *, ref: str) -> str:
        try:
            if self.implicit_tls:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if not self.implicit_tls and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if self.user:
                    client.login(self.user, self.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise MailError(
                "smtp", f"recipient refused: {text!r}", code, transient=code < 500
            ) from e
        except smtplib.SMTPResponseException as e:
            raise MailError(
                "smtp", str(e.smtp_error), e.smtp_code, transient=e.smtp_code < 500
            ) from e
        except (smtplib.SMTPException, OSError) as e:
            raise MailError("smtp", f"connection failed: {e}", transient=True) from e
        if refused:
            raise MailError("smtp", f"recipients refused: {refused}", transient=False)
        return str(message["Message-ID"])
