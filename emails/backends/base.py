"""The backend contract and the one error type every provider failure becomes."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class MailError(RuntimeError):
    """A send that failed; carries enough to decide retry vs permanent failure."""

    def __init__(
        self,
        provider: str,
        message: str,
        status: int | None = None,
        body: str = "",
        transient: bool | None = None,
    ):
        detail = f" (status {status})" if status else ""
        if body:
            detail += f": {' '.join(body.split())[:300]}"
        super().__init__(f"{provider}: {message}{detail}")
        self.provider = provider
        self.status = status
        self.body = body[:2000]
        self.transient = transient  # set by protocols whose codes are not HTTP's (SMTP)


def is_retryable(error: MailError) -> bool:
    """The one retry rule: network errors, 429 and 5xx retry; any other 4xx is permanent."""
    if error.transient is not None:
        return error.transient
    return error.status is None or error.status == 429 or error.status >= 500


class Backend(Protocol):
    name: str

    def send(self, message: EmailMessage, *, ref: str) -> str:
        """Deliver one message; return the provider's message id. Raise MailError."""
        ...
