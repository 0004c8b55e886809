"""Mail backends: I/O only. `get_backend()` picks one from MAIL_BACKEND."""

from __future__ import annotations

from config import ConfigError, Settings
from emails.providers.base import Backend, MailError, is_retryable


def get_backend(settings: Settings) -> Backend:
    if settings.mail_backend == "outbox":
        from emails.providers.outbox import OutboxBackend

        return OutboxBackend(settings.outbox_path)
    if settings.mail_backend == "smtp":
        from emails.providers.smtp import SMTPBackend

        if not settings.smtp_url:
            raise ConfigError("MAIL_BACKEND=smtp needs SMTP_URL (smtp://user:pass@host:587)")
        return SMTPBackend(settings.smtp_url, timeout=settings.http_timeout_seconds)
    if settings.mail_backend == "sendgrid":
        from emails.providers.sendgrid import SendGridBackend

        if not settings.sendgrid_api_key:
            raise ConfigError("MAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
        return SendGridBackend(
            settings.sendgrid_api_key,
            settings.sendgrid_api_url,
            timeout=settings.http_timeout_seconds,
        )
    raise ConfigError(f"unknown MAIL_BACKEND {settings.mail_backend!r}")


__all__ = ["Backend", "MailError", "get_backend", "is_retryable"]
