"""SMTP delivery: `smtp://` uses STARTTLS when the server offers it, `smtps://` implicit TLS.

One connection per backend, reused for every message of a batch (a send chunk) and closed by
`close()`; a connection the server dropped is reopened once, unless the message's data had
all been written on it: then the server may have taken it, and the MailError says so
(`unanswered`) for the delivery policy to decide. Sends are serial on it.
SMTP_URL holds a password: an error shows it `redacted`, never as typed.
"""

from __future__ import annotations

import smtplib
import ssl
from urllib.parse import unquote, urlsplit

from config import ConfigError, Settings
from emails.message import to_mime
from emails.providers.base import Envelope, MailError, Provider

SHAPE = "smtp://user:pass@host:587"


def redacted(url: str) -> str:
    """The URL fit for a log line, whatever may be the password masked. It is a mis-typed URL
    that gets printed, so no parser is trusted: all between the user name and the last '@'
    is masked, or, with no '@', anything after the host that is not a port number."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")
    if at:
        return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"
    host, colon, port = rest.partition(":")
    return url if not colon or port.isdigit() else f"{scheme}{sep}{host}:***"


class Marked:
    """Notes when a message's data has gone out whole (its closing CRLF . CRLF written): from
    then on a lost connection leaves the server with the message, or not."""

    written = False

    def sendmail(self, *args, **kwargs):
        self.written = False
        return super().sendmail(*args, **kwargs)

    def send(self, s: str | bytes) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):  # commands go out as str
            self.written = True


class Client(Marked, smtplib.SMTP):
    pass


class TLSClient(Marked, smtplib.SMTP_SSL):
    pass


class SMTPBackend:
    name = "smtp"
    concurrency = 1

    def __init__(self, url: str, timeout: float = 20.0):
        parts = urlsplit(url)
        try:
            port = parts.port  # urllib's error for a non-numeric port would quote it
            valid = parts.scheme in ("smtp", "smtps") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError(f"SMTP_URL must look like {SHAPE}, got {redacted(url)}")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = port or (465 if self.implicit_tls else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.client: Client | TLSClient | None = None

    def _connect(self) -> Client | TLSClient:
        if self.implicit_tls:
            client = TLSClient(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = Client(self.host, self.port, timeout=self.timeout)
        client.ehlo()
        if not self.implicit_tls and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if self.user:
            client.login(self.user, self.password or "")
        return client

    def send(self, envelope: Envelope) -> str:
        message = to_mime(envelope)
        client = None
        try:
            try:
                client = self.client = self.client or self._connect()
                refused = client.send_message(message)
            except smtplib.SMTPServerDisconnected:  # idle timeout between batches: once more
                if client is not None and client.written:
                    raise
                client = self.client = self._connect()
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as e:
            self._reset()
            code, text = next(iter(e.recipients.values()))
            raise MailError(
                "smtp", f"recipient refused: {text!r}", status=code, transient=code < 500
            ) from e
        except smtplib.SMTPAuthenticationError as e:
            self.close()
            raise MailError("smtp", str(e.smtp_error), status=e.smtp_code, auth=True) from e
        except smtplib.SMTPResponseException as e:
            self._reset()
            raise MailError(
                "smtp", str(e.smtp_error), status=e.smtp_code, transient=e.smtp_code < 500
            ) from e
        except (smtplib.SMTPException, OSError) as e:
            self.close()
            written = client is not None and client.written
            raise MailError(
                "smtp", f"connection failed: {e}", transient=True, unanswered=written
            ) from e
        if refused:
            raise MailError("smtp", f"recipients refused: {refused}", transient=False)
        return str(message["Message-ID"])

    def _reset(self) -> None:
        """After a refused transaction the connection is still good: RSET, or drop it."""
        try:
            if self.client:
                self.client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def backend(settings: Settings) -> SMTPBackend:
    if not settings.smtp_url:
        raise ConfigError(f"MAIL_BACKEND=smtp needs SMTP_URL ({SHAPE})")
    return SMTPBackend(settings.smtp_url.get_secret_value(), timeout=settings.http_timeout_seconds)


PROVIDER = Provider(name="smtp", backend=backend, credential_hint="check SMTP_URL's credentials")
