"""Mail providers: I/O only. `get_backend()` builds the one MAIL_BACKEND names (`registry`)."""

from __future__ import annotations

from emails.providers.base import Backend, Envelope, MailError, is_retryable
from emails.providers.registry import get_backend

__all__ = ["Backend", "Envelope", "MailError", "get_backend", "is_retryable"]
